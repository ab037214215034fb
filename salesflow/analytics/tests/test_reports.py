"""Reports (issue 10 item 6): every figure of every report checked against a plain Python
loop over the model rows (item 7): dated rates, reopened deals, activities near midnight in
the company time zone, people who changed teams, visibility; the page, the CSV/XLSX export
and the API show the same table; each report saves as a named view."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from salesflow.activities.models import Activity
from salesflow.analytics.forms import AnalysisFilterForm, ReportFilterForm
from salesflow.analytics.reports import REPORTS, build_report
from salesflow.analytics.selectors import deal_stats
from salesflow.catalogue.models import OpportunityLine
from salesflow.catalogue.services import opportunity_line_add
from salesflow.catalogue.tests.factories import make_category, make_product
from salesflow.core.errors import ValidationFailed
from salesflow.core.services import exchange_rate_create
from salesflow.parties.models import Account
from salesflow.sales.choices import Outcome
from salesflow.sales.models import LostReason, Opportunity
from salesflow.sales.services import opportunity_close, opportunity_reopen
from salesflow.sales.tests.factories import make_account, make_competitor, make_opportunity
from salesflow.users.models import TeamMembership, Territory, User
from salesflow.users.services import saved_view_create, user_change_team
from salesflow.users.testing import Personas, make_personas

pytestmark = pytest.mark.django_db

C2 = Decimal("0.01")
RATES = {"USD": [(date(2000, 1, 1), Decimal("7.00"))]}


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _rate(currency: str, day: date) -> Decimal | None:
    if currency == "CNY":
        return Decimal(1)
    valid = [r for d, r in sorted(RATES.get(currency, [])) if d <= day]
    return valid[-1] if valid else None


def table(user: User, name: str, **params: str) -> Any:
    form = ReportFilterForm(params, user=user, dimensions=REPORTS[name].dimensions)
    assert form.is_valid(), form.errors
    return build_report(name, form.analysis(), form.cleaned_data["dimension"])


def by_label(t: Any) -> dict[str, list[Any]]:
    return {str(r[0]): r for r in t.rows}


@pytest.fixture
def world() -> dict[str, Any]:
    """A past year of deals: two currencies with a rate change, a reopened win, lost deals
    with reasons and competitors, product lines, regions, sources."""
    p = make_personas()
    year = timezone.localdate().year - 1
    exchange_rate_create(actor=p.admin, currency="USD", rate="7.00", valid_from=date(2000, 1, 1))
    exchange_rate_create(actor=p.admin, currency="USD", rate="7.20", valid_from=date(year, 6, 1))
    RATES["USD"] = [(date(2000, 1, 1), Decimal("7.00")), (date(year, 6, 1), Decimal("7.20"))]
    east = Territory.objects.create(name="华东", code="t-east")
    south = Territory.objects.create(name="华南", code="t-south")
    acme = make_account(p.rep, name="星云科技")
    Account.objects.filter(pk=acme.pk).update(region=east, source="partner")
    evil = make_account(p.teammate, name="=HYPERLINK(1)")
    Account.objects.filter(pk=evil.pk).update(region=south, source="inbound")
    line_a, line_b = make_category(), make_category()
    prod_a, prod_b = make_product(category=line_a), make_product(category=line_b)
    rival, other_rival = make_competitor("对手甲"), make_competitor("对手乙")
    price, timing = LostReason.objects.get(code="price"), LostReason.objects.get(code="timing")

    def won(owner: User, amount: str, day: date, currency: str = "CNY", account: Account | None = None) -> Opportunity:
        opp = make_opportunity(owner, amount=amount, currency=currency, account=account or acme)
        return opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.WON, closed_on=day)

    def lost(owner: User, amount: str, day: date, reason: Any, to: Any = None, faced: tuple[Any, ...] = ()) -> Any:
        opp = make_opportunity(owner, amount=amount, account=acme if owner == p.rep else evil)
        opp.competitors.add(*faced)
        return opportunity_close(
            actor=owner, opportunity=opp, outcome=Outcome.LOST, closed_on=day, lost_reason=reason, lost_to=to
        )

    won(p.rep, "1000.00", date(year, 1, 31))
    won(p.rep, "100.00", date(year, 5, 31), "USD")  # 700.00
    won(p.rep, "100.00", date(year, 6, 1), "USD")  # 720.00
    won(p.teammate, "333.33", date(year, 6, 15), account=evil)
    won(p.outsider, "50.00", date(year, 7, 1), account=make_account(p.outsider))
    with_lines = make_opportunity(p.rep, account=acme, amount="0")
    opportunity_line_add(actor=p.rep, opportunity=with_lines, product_id=prod_a.pk, quantity="2", unit_price="100.00")
    opportunity_line_add(actor=p.rep, opportunity=with_lines, product_id=prod_b.pk, quantity="1", unit_price="50.00")
    with_lines.refresh_from_db()
    opportunity_close(actor=p.rep, opportunity=with_lines, outcome=Outcome.WON, closed_on=date(year, 8, 8))
    faced = won(p.rep, "10.00", date(year, 9, 1))
    faced.competitors.add(rival)
    reopened = won(p.rep, "9999.00", date(year, 3, 3))
    opportunity_reopen(actor=p.rep, opportunity=reopened)
    lost(p.rep, "400.00", date(year, 2, 2), price, rival, (rival, other_rival))
    lost(p.rep, "40.00", date(year, 2, 3), price, None, (other_rival,))
    lost(p.teammate, "4.00", date(year, 10, 3), timing, other_rival)
    return {
        "p": p,
        "year": year,
        "acme": acme,
        "evil": evil,
        "prod_a": prod_a,
        "prod_b": prod_b,
        "line_a": line_a,
        "rival": rival,
        "east": east,
    }


def _won_loop(owners: set[int] | None, start: date, end: date) -> list[tuple[Opportunity, Decimal]]:
    """Every won deal in range with its amount converted by hand at its close day's rate."""
    out = []
    for opp in Opportunity.objects.select_related("account").order_by("pk"):
        if opp.outcome != Outcome.WON or opp.closed_on is None or not start <= opp.closed_on <= end:
            continue
        if owners is not None and opp.owner_id not in owners:
            continue
        rate = _rate(opp.currency, opp.closed_on)
        out.append((opp, (opp.amount * rate).quantize(C2)))  # type: ignore[operator]
    return out


def _group(deals: list[tuple[Opportunity, Decimal]], key: Any) -> dict[Any, list[Any]]:
    result: dict[Any, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for opp, amount in deals:
        cell = result[key(opp)]
        cell[0] += 1
        cell[1] += amount
    return dict(result)


def test_sales_by_rep_customer_region_source_and_time_match_a_loop(world: dict[str, Any]) -> None:
    p, year = world["p"], world["year"]
    period = f"{year}"
    fy = _fy(p, year)
    deals = _won_loop(None, fy.start, fy.end)
    names = {u.pk: str(u) for u in User.objects.all()}
    checks = {
        "rep": lambda o: names[o.owner_id],
        "customer": lambda o: o.account.name,
        "region": lambda o: o.account.region.name if o.account.region_id else "(not set)",
        "source": lambda o: {"partner": "Partner", "inbound": "Inbound"}.get(o.account.source, "(not set)"),
    }
    for dimension, key in checks.items():
        t = table(p.admin, "sales", period=period, node="company", dimension=dimension)
        expected = _group(deals, key)
        got = {label: [row[1], row[2]] for label, row in by_label(t).items()}
        assert got == {str(k): v for k, v in expected.items()}, dimension
        total = sum((v[1] for v in expected.values()), Decimal(0))
        assert t.totals[1:3] == [len(deals), total]
        for row in t.rows:
            assert row[3] == (row[2] * 100 / total).quantize(C2)
    # the reopened 9999.00 win is nowhere; USD converted at each close day's rate
    assert all(r[2] < Decimal("9999.00") for r in table(p.admin, "sales", period=period, dimension="rep").rows)
    months = table(p.admin, "sales", period=period, node="company", dimension="month")
    assert len(months.rows) == 12
    by_month = _group(deals, lambda o: (o.closed_on.year, o.closed_on.month))
    for row, m in zip(months.rows, range(12), strict=True):
        y, mm = fy.start.year + (fy.start.month - 1 + m) // 12, (fy.start.month - 1 + m) % 12 + 1
        assert [row[1], row[2]] == by_month.get((y, mm), [0, Decimal(0)])
    quarters = table(p.admin, "sales", period=period, node="company", dimension="quarter")
    assert [r[1] for r in quarters.rows] and sum(r[2] for r in quarters.rows) == months.totals[2]
    weeks = table(p.admin, "sales", period=period, node="company", dimension="week")
    assert sum(r[1] for r in weeks.rows) == len(deals) and sum(r[2] for r in weeks.rows) == months.totals[2]


def test_sales_by_product_reads_line_totals(world: dict[str, Any]) -> None:
    p, year = world["p"], world["year"]
    fy = _fy(p, year)
    deals = _won_loop(None, fy.start, fy.end)
    t = table(p.admin, "sales", period=f"{year}", dimension="product")
    expected: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for opp, amount in deals:
        lines = list(OpportunityLine.objects.filter(opportunity=opp).select_related("product"))
        if not lines:
            expected["(deal without product lines)"][0] += 1
            expected["(deal without product lines)"][1] += amount
        for line in lines:
            cell = expected[str(line.product)]
            cell[0] += 1
            cell[1] += (line.total * _rate(opp.currency, opp.closed_on)).quantize(C2)  # type: ignore[operator,arg-type]
    assert {k: [r[1], r[2]] for k, r in by_label(t).items()} == dict(expected)
    assert t.totals[1] == len(deals)
    a_total = sum((line.total for line in OpportunityLine.objects.filter(product=world["prod_a"])), Decimal(0))
    assert by_label(t)[str(world["prod_a"])][2] == a_total == Decimal("226.00")  # line total with tax
    lines = table(p.admin, "sales", period=f"{year}", dimension="product_line", product_line=str(world["line_a"].pk))
    assert [(r[0], r[1], r[2]) for r in lines.rows] == [(str(world["line_a"]), 1, a_total)]


def _fy(p: Personas, year: int) -> Any:
    form = AnalysisFilterForm({"period": f"{year}"}, user=p.admin)
    assert form.is_valid()
    return form.analysis().period


def test_won_lost_by_reason_and_competitor_match_a_loop(world: dict[str, Any]) -> None:
    p, year = world["p"], world["year"]
    fy = _fy(p, year)
    closed = [o for o in Opportunity.objects.all() if o.closed_on and fy.start <= o.closed_on <= fy.end]
    lost = [o for o in closed if o.outcome == Outcome.LOST]
    t = table(p.admin, "won_lost", period=f"{year}", dimension="reason")
    expected: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for o in lost:
        expected[str(o.lost_reason)][0] += 1
        expected[str(o.lost_reason)][1] += o.amount
    assert {k: [r[1], r[2]] for k, r in by_label(t).items()} == dict(expected)
    assert t.totals[1] == len(lost) and by_label(t)[str(LostReason.objects.get(code="price"))][3] == Decimal("66.67")
    c = table(p.admin, "won_lost", period=f"{year}", dimension="competitor")
    rows = by_label(c)
    for comp in {x for o in closed for x in o.competitors.all()}:
        against = [o for o in closed if comp in o.competitors.all()]
        won_n = sum(1 for o in against if o.outcome == Outcome.WON)
        lost_to = [o for o in lost if o.lost_to_id == comp.pk]
        row = rows[comp.name]
        assert row[1:4] == [len(against), won_n, len(against) - won_n]
        assert row[5:7] == [len(lost_to), sum((o.amount for o in lost_to), Decimal(0))]
    assert rows["对手甲"][4] == Decimal("50.00")  # one won, one lost against it
    assert rows["(no competitor recorded)"][5] == 1 and c.totals[5] == len(lost)


def test_velocity_report_is_deal_stats(world: dict[str, Any]) -> None:
    p, year = world["p"], world["year"]
    form = ReportFilterForm({"period": f"{year}"}, user=p.manager, dimensions=REPORTS["velocity"].dimensions)
    assert form.is_valid()
    t = build_report("velocity", form.analysis(), "rep")
    total, per_owner = deal_stats(analysis=form.analysis())
    assert t.totals[1:3] == [total.won_count, total.lost_count] and t.totals[8] == total.velocity_per_day  # type: ignore[index]
    assert {r[0] for r in t.rows} == {str(User.objects.get(pk=pk)) for pk in per_owner}
    assert "×" in t.formula
    # the manager's default node is his department: the outsider (another team) is not in it
    assert str(p.outsider) not in {r[0] for r in t.rows}


def test_activities_by_rep_and_week_count_on_the_company_day() -> None:
    p = make_personas()
    zone = _zone()
    year = timezone.localdate().year - 1
    moments = [
        (p.rep, "visit", datetime(year, 3, 31, 23, 30, tzinfo=zone)),  # March
        (p.rep, "visit", datetime(year, 4, 1, 0, 30, tzinfo=zone)),  # April
        (p.rep, "call", datetime(year, 4, 6, 23, 59, tzinfo=zone)),  # Sunday: week 1 of April
        (p.teammate, "call", datetime(year, 4, 7, 0, 0, tzinfo=zone)),  # Monday: week 2
        (p.outsider, "meeting", datetime(year, 4, 10, 12, 0, tzinfo=zone)),
    ]
    for owner, kind, moment in moments:
        Activity.objects.create(kind=kind, subject="x", owner=owner, done=True, done_at=moment)
    Activity.objects.create(kind="call", subject="not done", owner=p.rep, done=False)
    t = table(p.admin, "activities", period=f"{year}-04", node="company", dimension="rep")
    loop: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for act in Activity.objects.filter(done=True):
        day = act.done_at.astimezone(zone).date()  # type: ignore[union-attr]
        if (day.year, day.month) == (year, 4):
            loop[str(act.owner)][act.kind] += 1
    keys = [c.key for c in t.columns]
    for row in t.rows:
        got = {k[5:]: v for k, v in zip(keys, row, strict=True) if k.startswith("kind_") and v}
        assert got == dict(loop[row[0]])
        assert row[-1] == sum(loop[row[0]].values())
    assert t.totals[-1] == 4
    weeks = table(p.admin, "activities", period=f"{year}-04", node="company", dimension="week")
    first = date(year, 4, 1)
    week_of: dict[int, int] = {}
    for act in Activity.objects.filter(done=True):
        day = act.done_at.astimezone(zone).date()  # type: ignore[union-attr]
        if (day.year, day.month) == (year, 4):
            n = 1 + ((day - first).days + first.weekday()) // 7
            week_of[n] = week_of.get(n, 0) + 1
    assert [r[-1] for r in weeks.rows] == [week_of.get(i + 1, 0) for i in range(len(weeks.rows))]


def test_a_team_counts_people_while_they_belonged_to_it() -> None:
    p = make_personas()
    today = timezone.localdate()
    move_day = today - timedelta(days=5)
    TeamMembership.objects.create(user=p.rep, team=p.team_a, start=date(2000, 1, 1))
    for day, amount in ((move_day - timedelta(days=1), "100.00"), (today, "40.00")):
        opp = make_opportunity(p.rep, amount=amount)
        opportunity_close(actor=p.rep, opportunity=opp, outcome=Outcome.WON, closed_on=day)
    user_change_team(actor=p.admin, user=p.rep, team=p.team_b, effective=move_day)
    from salesflow.core.periods import period_containing

    before = move_day - timedelta(days=1)
    for kind in ("month", "quarter", "year"):
        span = period_containing(kind, today)  # type: ignore[arg-type]
        if span.contains(before):
            break
    else:
        pytest.skip("the two days fall in different fiscal years")
    period = span.key
    a = table(p.admin, "sales", period=period, node=f"team:{p.team_a.pk}", dimension="rep")
    b = table(p.admin, "sales", period=period, node=f"team:{p.team_b.pk}", dimension="rep")
    assert [(r[0], r[2]) for r in a.rows] == [(str(p.rep), Decimal("100.00"))]
    assert [(r[0], r[2]) for r in b.rows] == [(str(p.rep), Decimal("40.00"))]


def test_visibility_a_rep_sees_only_himself(world: dict[str, Any], client_for: Any) -> None:
    p, year = world["p"], world["year"]
    mine = table(p.rep, "sales", period=f"{year}", dimension="customer")
    assert all(r[1] for r in mine.rows)
    assert mine.totals[1] == sum(1 for o, _a in _won_loop({p.rep.pk}, *_span(p, year)))
    client = client_for(p.rep)
    for node in (f"team:{p.team_a.pk}", "company", f"rep:{p.teammate.pk}"):
        assert client.get("/reports/sales/", {"period": f"{year}", "node": node}).status_code == 400
        assert client.get(f"/reports/sales/export.csv?period={year}&node={node}").status_code == 400
    other = client_for(p.other_manager)
    assert other.get("/reports/sales/", {"node": f"team:{p.team_a.pk}"}).status_code == 400
    assert other.get("/reports/sales/", {"node": f"team:{p.team_b.pk}"}).status_code == 200


def _span(p: Personas, year: int) -> tuple[date, date]:
    fy = _fy(p, year)
    return fy.start, fy.end


def test_page_export_and_api_show_the_same_table(
    world: dict[str, Any], client_for: Any, api_for: Any, django_assert_max_num_queries: Any
) -> None:
    from openpyxl import load_workbook

    p, year = world["p"], world["year"]
    client = client_for(p.manager)
    query = {"period": f"{year}", "node": f"team:{p.department.pk}", "dimension": "customer"}
    with django_assert_max_num_queries(40):
        page = client.get("/reports/sales/", query)
    assert page.status_code == 200
    t = page.context["table"]
    xlsx = client.get("/reports/sales/export.xlsx", query)
    assert xlsx.status_code == 200 and "attachment" in xlsx["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]  # type: ignore[union-attr]
    assert cells[0] == [c.label for c in t.columns]
    body = cells[1:-1]
    for got, row in zip(body, t.rows, strict=True):
        assert got[1] == row[1] and Decimal(str(got[2])) == row[2]
    assert "'=HYPERLINK(1)" in [r[0] for r in body]  # formula injection neutralised
    assert cells[-1][0] == "Total" and Decimal(str(cells[-1][2])) == t.totals[2]
    text = client.get("/reports/sales/export.csv", query).content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert [Decimal(r[2]) for r in rows[1:]] == [r[2] for r in t.rows] + [t.totals[2]]
    api = api_for(p.manager)
    got = api.get("/reports/sales", **query)
    assert got.status_code == 200, got.content
    data = got.json()
    assert [Decimal(r["won_amount"]) for r in data["rows"]] == [r[2] for r in t.rows]
    assert Decimal(data["totals"]["won_amount"]) == t.totals[2] and data["node"] == query["node"]


def test_api_refuses_bad_input(world: dict[str, Any], api_for: Any) -> None:
    p = world["p"]
    api = api_for(p.rep)
    assert api.get("/reports").status_code == 200
    assert api.get("/reports/won-lost", dimension="competitor").status_code == 200
    for bad in (
        "period=2026-13",
        "node=company",
        "dimension=evil",
        "pipeline_id=NaN",
        f"pipeline_id={10**30}",
        "source=%00",
        "period=" + "9" * 50000,
    ):
        response = api.get(f"/reports/sales?{bad}")
        assert response.status_code == 400, (bad, response.status_code)


def test_each_report_saves_as_a_named_view(world: dict[str, Any], client_for: Any) -> None:
    p, year = world["p"], world["year"]
    for name in REPORTS:
        view = saved_view_create(
            actor=p.manager,
            list_key=f"report_{name}",
            name="本年",
            query=f"period={year}&dimension=rep" if name != "won_lost" else f"period={year}&dimension=competitor",
        )
        assert view.query.startswith("period=")
    with pytest.raises(ValidationFailed):
        saved_view_create(actor=p.manager, list_key="report_sales", name="坏", query="evil=1")
    client = client_for(p.manager)
    picker = client.get("/views/picker/", {"list": "report_sales", "query": f"period={year}&dimension=rep"})
    assert picker.status_code == 200 and "本年".encode() in picker.content
    assert f"/reports/sales/?period={year}".encode() in picker.content
    # the generic list export of a report key exports the records behind it
    from django.http import QueryDict

    from salesflow.core.exports import list_spec

    spec = list_spec("report_sales")
    assert spec is not None
    ids = set(spec.build(p.rep, QueryDict(f"period={year}")).values_list("pk", flat=True))
    assert ids == {o.pk for o, _a in _won_loop({p.rep.pk}, *_span(p, year))}


def test_support_sees_report_counts_but_no_money(world: dict[str, Any], client_for: Any, api_for: Any) -> None:
    """The billing money rule (``sees_no_money``) on reports: support's page, exports and API
    keep the counts and have no amount; an administrator sees the same rows with amounts."""
    p, year = world["p"], world["year"]
    deals = [o for o, _a in _won_loop({p.rep.pk}, *_span(p, year))]
    Opportunity.objects.filter(pk__in=[o.pk for o in deals]).update(owner=p.support)  # support's own node
    query = {"period": f"{year}", "node": f"rep:{p.support.pk}", "dimension": "customer"}
    admin = client_for(p.admin).get("/reports/sales/", query).context["table"]
    assert admin.totals[1] == len(deals) and admin.totals[2] > 0
    client = client_for(p.support)
    page = client.get("/reports/sales/", query)
    t = page.context["table"]
    money = [i for i, c in enumerate(t.columns) if c.kind == "money"]
    assert money and t.totals[1] == len(deals)
    assert [r[1] for r in t.rows] == [r[1] for r in admin.rows]
    assert all(row[i] is None for row in [*t.rows, t.totals] for i in money)
    assert str(admin.totals[2]) not in page.content.decode()
    rows = list(csv.reader(io.StringIO(client.get("/reports/sales/export.csv", query).content.decode("utf-8-sig"))))
    assert rows[-1][1] == str(len(deals)) and all(rows[-1][i] == "" for i in money)
    data = api_for(p.support).get("/reports/sales", **query).json()
    assert data["totals"]["won_count"] == len(deals) and data["totals"]["won_amount"] is None


#: per report: the column index of the figure a row's link lists
FIGURE = {"sales": 1, "won_lost": 1, "velocity": 1, "activities": -1}


def test_every_report_row_links_to_exactly_its_records(world: dict[str, Any], client_for: Any) -> None:
    """Each row of every report and dimension links to the dashboards' records page (the
    drill-down of the charts); the records listed there number exactly the row's figure."""
    from salesflow.activities.tests.factories import local_dt, make_activity

    p, year = world["p"], world["year"]
    for owner, kind, n in ((p.rep, "call", 2), (p.teammate, "visit", 1)):
        for _i in range(n):
            make_activity(owner, kind=kind, done=True, done_at=local_dt(date(year, 4, 2), 10))
    client = client_for(p.admin)
    checked = 0
    for name, report in REPORTS.items():
        for dimension, _label in report.dimensions:
            query = {"period": f"{year}", "node": "company", "dimension": dimension}
            page = client.get(f"/reports/{name}/", query)
            assert page.status_code == 200, (name, dimension)
            table = page.context["table"]
            html = page.content.decode()
            for (_cells, link), row in zip(page.context["rows"], table.rows, strict=True):
                others = str(row[0]) == "(all others)"
                assert bool(link) != others, (name, dimension, row[0])
                if not link:
                    continue
                assert link.startswith("/dashboards/records/?") and f'href="{link.replace("&", "&amp;")}"' in html
                figure = row[FIGURE[name]]
                if name == "won_lost" and dimension == "competitor" and figure is None:
                    figure = row[5]  # "(no competitor recorded)": the deals lost to nobody named
                listed = client.get(link)
                assert listed.status_code == 200, (name, dimension, row[0], listed.content[:300])
                assert listed.context["total"] == figure, (name, dimension, row[0], link)
                checked += 1
    assert checked >= 20
    # a forged row is refused, naming nothing it should not
    bad = client.get("/dashboards/records/", {"metric": "won_deals", "group": "customer:abc"})
    assert bad.status_code == 400
    assert client.get("/dashboards/records/", {"metric": "won_deals", "group": "nope:1"}).status_code == 400
