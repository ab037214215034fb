"""Dashboards (issue 10 item 5): every chart figure against a plain Python loop over the rows,
the records behind a figure count exactly the figure, exports read back, visibility, hostile
query strings, both languages, bounded query counts."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from salesflow.activities.models import Activity
from salesflow.activities.tests.factories import local_dt, make_activity
from salesflow.core.periods import month_period
from salesflow.dashboards.models import ChartSnapshot
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


def _won(owner, amount, day):  # type: ignore[no-untyped-def]
    opp = make_opportunity(owner, amount=amount)
    return opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.WON, closed_on=day)


def _lost(owner, day):  # type: ignore[no-untyped-def]
    opp = make_opportunity(owner, amount="10.00")
    from salesflow.sales.models import LostReason

    reason = LostReason.objects.filter(is_active=True).first()
    return opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.LOST, closed_on=day, lost_reason=reason)


@pytest.fixture
def data(personas: Personas) -> dict[str, Any]:
    today = timezone.localdate()
    month = month_period(today.year, today.month)
    prev = month_period(*(today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12))
    p = personas
    _won(p.rep, "1000.00", month.start)
    _won(p.rep, "250.50", prev.start)
    _won(p.teammate, "300.00", month.start)
    _won(p.outsider, "999.00", month.start)
    _lost(p.rep, month.start)
    _lost(p.teammate, prev.start)
    big = make_opportunity(p.rep, amount="50000.00", expected_close_date=month.end)
    make_opportunity(p.teammate, amount="7000.00", expected_close_date=month.start)
    make_opportunity(p.outsider, amount="90000.00", expected_close_date=month.end)
    for kind, owner, n in (("call", p.rep, 3), ("visit", p.rep, 2), ("call", p.teammate, 1), ("visit", p.outsider, 4)):
        for _i in range(n):
            make_activity(owner, kind=kind, done=True, done_at=local_dt(month.start, 11))
    return {"today": today, "month": month, "prev": prev, "big": big}


def _chart(client: Any, key: str, **params: str) -> dict[str, Any]:
    response = client.get(f"/dashboards/chart/{key}/", params)
    assert response.status_code == 200, response.content[:500]
    return response.context["chart"]  # type: ignore[no-any-return]


def _loop_won(owners: set[int], start: date, end: date) -> tuple[int, Decimal]:
    n, total = 0, Decimal(0)
    for o in Opportunity.objects.all():
        if o.outcome == Outcome.WON and o.closed_on and start <= o.closed_on <= end and o.owner_id in owners:
            n += 1
            total += o.amount
    return n, total


def test_won_lost_by_month_matches_a_loop_and_records_count_equals_figure(personas, data, client_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    client = client_for(p.manager)
    chart = _chart(client, "won_lost", period=data["month"].key, node=f"team:{p.department.pk}")
    team = {p.rep.pk, p.teammate.pk, p.assistant.pk, p.support.pk, p.manager.pk}
    rows = {r[0]: r for r in chart["rows"]}
    for m in (data["month"], data["prev"]):
        n, total = _loop_won(team, m.start, m.end)
        assert rows[m.key][1] == n
        assert Decimal(rows[m.key][2]) == total
        lost = sum(
            1
            for o in Opportunity.objects.all()
            if o.outcome == Outcome.LOST and o.owner_id in team and m.start <= o.closed_on <= m.end
        )
        assert rows[m.key][3] == lost
    # the drill-down: the bar's link lists exactly the figure's records
    index = chart["categories"].index(data["month"].key)
    link = chart["series"][0]["links"][index]
    page = client.get(link)
    assert page.status_code == 200
    assert page.context["total"] == rows[data["month"].key][1]
    names = {o.name for o in page.context["page"]}
    assert all(o.owner_id in team for o in Opportunity.objects.filter(name__in=names))


def test_activity_by_rep_by_kind_matches_a_loop(personas, data, client_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    client = client_for(p.admin)
    chart = _chart(client, "activity", period=data["month"].key, node="company")
    kinds = [c["label"] for c in chart["columns"][1:-1]]
    expected: dict[str, int] = {}
    for act in Activity.objects.filter(done=True):
        expected[str(act.owner)] = expected.get(str(act.owner), 0) + 1
    assert {r[0]: r[-1] for r in chart["rows"]} == expected
    assert "Call" in kinds and "Visit" in kinds
    # drill into one stacked segment (outsider's visits): count equals the segment
    s = next(s for s in chart["series"] if s["name"] == "Visit")
    i = chart["categories"].index(str(p.outsider))
    page = client.get(s["links"][i])
    assert page.context["total"] == s["data"][i] == 4


def test_pipeline_and_top_deals(personas, data, client_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    client = client_for(p.manager)
    params = {"period": data["month"].key, "node": f"team:{p.department.pk}"}
    chart = _chart(client, "pipeline", **params)
    team = {p.rep.pk, p.teammate.pk, p.assistant.pk, p.support.pk, p.manager.pk}
    open_deals = [o for o in Opportunity.objects.all() if o.outcome == Outcome.OPEN and o.owner_id in team]
    assert sum(r[1] for r in chart["rows"]) == len(open_deals)
    assert sum(Decimal(r[2]) for r in chart["rows"]) == sum(o.amount for o in open_deals)
    for link, row in zip(chart["row_links"], chart["rows"], strict=True):
        assert client.get(link).context["total"] == row[1]
    top = _chart(client, "top_deals", **params)
    expected = sorted(
        (o for o in open_deals if o.expected_close_date and data["month"].contains(o.expected_close_date)),
        key=lambda o: -o.amount,
    )
    assert [r[0] for r in top["rows"]] == [o.name for o in expected]
    assert top["rows"][0][0] == data["big"].name


def test_velocity_and_win_rate(personas, data, client_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    client = client_for(p.rep)
    chart = _chart(client, "velocity", period=data["month"].key)
    values = {r[0]: r[1] for r in chart["rows"]}
    own_open = sum(1 for o in Opportunity.objects.filter(owner=p.rep) if o.outcome == Outcome.OPEN)
    assert values["Open deals"] == own_open
    assert values["Win rate %"] == "50.0"  # one won, one lost this month
    assert Decimal(values["Average won amount"]) == Decimal("1000.00")
    rate = _chart(client, "win_rate", period=data["month"].key)
    assert rate["rows"][-1][3] == "50.0"


def test_attainment_lists_plannable_metrics_with_actuals(personas, data, client_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    chart = _chart(client_for(p.rep), "attainment", period=data["month"].key)
    rows = {r[0]: r for r in chart["rows"]}
    assert Decimal(rows["Won revenue"][1]) == Decimal("1000.00")
    assert rows["Won deals"][1] == 1
    assert rows["Visits"][1] == 2


def test_funnel_counts_stage_entries_and_records_match(personas, data, client_for) -> None:  # type: ignore[no-untyped-def]
    from salesflow.sales.models import Pipeline, StageChange

    p = personas
    client = client_for(p.admin)
    chart = _chart(client, "funnel", period=data["month"].key, node="company")
    pipeline = Pipeline.objects.filter(is_active=True).order_by("-is_default", "position", "pk").first()
    assert chart["rows"], "the default pipeline's open stages"
    for row, link in zip(chart["rows"], chart["row_links"], strict=True):
        stage_id = int(re.search(r"stage=(\d+)", link)[1])  # type: ignore[index]
        expected = {
            c.opportunity_id
            for c in StageChange.objects.select_related("to_stage")
            if c.to_stage_id == stage_id
            and c.to_stage.pipeline_id == pipeline.pk  # type: ignore[union-attr]
            and data["month"].contains(timezone.localtime(c.changed_at).date())
        }
        assert row[1] == len(expected)
        assert client.get(link).context["total"] == len(expected)
    assert sum(r[1] for r in chart["rows"]) > 0


def test_exports_read_back_exactly_the_table(personas, data, client_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    client = client_for(p.admin)
    params = {"period": data["month"].key, "node": "company"}
    chart = _chart(client, "won_lost", **params)
    response = client.get("/dashboards/chart/won_lost/export", {**params, "format": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == [c["label"] for c in chart["columns"]]
    assert [line[0] for line in lines[1:]] == [r[0] for r in chart["rows"]]
    assert [Decimal(line[2]) for line in lines[1:]] == [Decimal(r[2]) for r in chart["rows"]]
    response = client.get("/dashboards/chart/won_lost/export", {**params, "format": "xlsx"})
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    sheet = book.active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == len(chart["rows"]) + 1
    assert [int(str(v[1])) for v in values[1:]] == [r[1] for r in chart["rows"]]
    assert client.get("/dashboards/chart/won_lost/export", {**params, "format": "pdf"}).status_code == 400


def test_export_neutralises_formulas(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    today = timezone.localdate()
    make_opportunity(p.rep, name="=HYPERLINK(1)", amount="5.00", expected_close_date=today)
    response = client_for(p.rep).get("/dashboards/chart/top_deals/export", {"format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert "'=HYPERLINK(1)" in text


def test_visibility(personas, data, client_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    rep = client_for(p.rep)
    assert rep.get("/dashboards/").status_code == 200
    assert rep.get("/dashboards/").context["analysis"].node.key == f"rep:{p.rep.pk}"
    assert rep.get(f"/dashboards/rep/{p.teammate.pk}/").status_code == 404
    assert rep.get("/dashboards/", {"node": f"rep:{p.teammate.pk}"}).status_code == 404
    assert rep.get("/dashboards/chart/won_lost/", {"node": "company"}).status_code == 404
    assert rep.get("/dashboards/records/", {"metric": "won_deals", "node": f"team:{p.team_a.pk}"}).status_code == 404
    manager = client_for(p.manager)
    assert manager.get(f"/dashboards/rep/{p.rep.pk}/").status_code == 200
    assert manager.get(f"/dashboards/rep/{p.outsider.pk}/").status_code == 404
    assert manager.get("/dashboards/").context["analysis"].node.kind == "team"
    assert client_for(p.admin).get("/dashboards/").context["analysis"].node.key == "company"
    # an owner outside the node adds nothing on the records page
    page = manager.get(
        "/dashboards/records/",
        {
            "metric": "won_deals",
            "node": f"team:{p.department.pk}",
            "owner": str(p.outsider.pk),
            "period": data["month"].key,
        },
    )
    assert page.status_code == 200 and page.context["total"] == 0


@pytest.mark.parametrize(
    "query",
    [
        {"period": "2026-13"},
        {"period": "x" * 5000},
        {"node": "team:abc"},
        {"pipeline": "NaN"},
        {"region": "10" * 30},
        {"source": "\x00"},
        {"period": "1999"},
    ],
)
def test_hostile_query_strings(personas, client_for, query) -> None:  # type: ignore[no-untyped-def]
    client = client_for(personas.admin)
    for url in ("/dashboards/", "/dashboards/chart/won_lost/", "/dashboards/chart/won_lost/export"):
        assert client.get(url, query).status_code in (400, 404)
    assert client.get("/dashboards/records/", {"metric": "won_deals", **query}).status_code in (400, 404)


def test_records_hostile(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(personas.admin)
    for q in (
        {"metric": "nope"},
        {"metric": "won_deals", "day_from": "2026-02-30"},
        {"metric": "won_deals", "owner": "-1"},
        {},
    ):
        assert client.get("/dashboards/records/", q).status_code == 400
    assert client.get("/dashboards/chart/nope/").status_code == 404


def test_both_languages_render(personas, data, client_for) -> None:  # type: ignore[no-untyped-def]
    for lang, word in (("zh-hans", "赢单"), ("en", "Won deals")):
        client = client_for(personas.manager, lang)
        assert client.get("/dashboards/").status_code == 200
        body = client.get("/dashboards/chart/won_lost/").content.decode()
        assert word in body


def test_query_counts_are_bounded(personas, data, client_for, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    client = client_for(personas.admin)
    with django_assert_max_num_queries(20):
        assert client.get("/dashboards/").status_code == 200
    for key in ("won_lost", "pipeline", "activity", "top_deals", "velocity", "funnel", "attainment", "win_rate"):
        client.get(f"/dashboards/chart/{key}/")  # computes and stores
        with django_assert_max_num_queries(12):  # from the snapshot
            assert client.get(f"/dashboards/chart/{key}/").status_code == 200
    with django_assert_max_num_queries(25):
        assert client.get("/dashboards/records/", {"metric": "activities"}).status_code == 200
    assert ChartSnapshot.objects.count() == 8


def test_refresh_recomputes(personas, data, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(personas.admin)
    client.get("/dashboards/chart/won_lost/")
    before = ChartSnapshot.objects.get(chart="won_lost").computed_at
    response = client.post("/dashboards/refresh/")
    assert response.status_code == 302
    assert ChartSnapshot.objects.get(chart="won_lost").computed_at >= before


def test_api(personas, data, api_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    api = api_for(p.manager)
    response = api.get("/dashboards/won_lost", period=data["month"].key)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["node"] == f"team:{p.department.pk}"
    assert body["rows"][-1][0] == data["month"].key
    assert api.get("/dashboards/won_lost", period="2026-13").status_code == 400
    assert api.get("/dashboards/won_lost", node="company").status_code == 404
    assert api.get("/dashboards/nope").status_code == 404
    assert api.get("/dashboards/charts").json()["charts"][0] == "attainment"
    assert api_for(p.rep).get("/dashboards/pipeline", node=f"rep:{p.teammate.pk}").status_code == 404
    _ = timedelta


def test_scheduled_refresh_fills_the_widest_views(personas, data, client_for, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    from salesflow.dashboards.cache import refresh_widest

    n = refresh_widest()
    assert n == 8 * 2 * 3  # company + two top teams (department, team_b), two languages
    client = client_for(personas.admin, "zh-hans")
    with django_assert_max_num_queries(12):  # answered from the snapshot
        body = client.get("/dashboards/chart/won_lost/").content.decode()
    assert "每月赢单与输单" in body


def test_attainment_with_a_locked_target_shows_target_pace_and_ratio(personas, data, client_for) -> None:  # type: ignore[no-untyped-def]
    from salesflow.core.periods import elapsed_fraction
    from salesflow.targets.models import PlanVersion, SalesPlan, Target, VersionStatus

    p = personas
    month = data["month"]
    plan, _ = SalesPlan.objects.get_or_create(year=month.start.year)
    version = PlanVersion.objects.create(plan=plan, number=plan.versions.count() + 1, status=VersionStatus.LOCKED)
    node = f"rep:{p.rep.pk}"
    Target.objects.create(
        version=version, metric_key="won_revenue", node_key=node, period_key=month.key, value=Decimal("4000.00")
    )
    chart = _chart(client_for(p.rep), "attainment", period=month.key)
    row = next(r for r in chart["rows"] if r[0] == "Won revenue")
    actual = _loop_won({p.rep.pk}, month.start, month.end)[1]
    assert Decimal(row[1]) == actual == Decimal("1000.00")
    assert Decimal(row[2]) == Decimal("4000.00")
    pace = (Decimal("4000.00") * elapsed_fraction(month, data["today"])).quantize(Decimal("0.01"))
    assert abs(Decimal(row[3]) - pace) <= Decimal("0.01")
    assert Decimal(row[4]) == Decimal("25.0")
    assert chart["series"], "drawn against the target"


def test_support_sees_counts_but_no_money(personas, data, client_for, api_for) -> None:  # type: ignore[no-untyped-def]
    """The billing money rule (``sees_no_money``): support's charts, table views, exports, API
    and records keep every count and drop every amount; the same figures for a rep show them."""
    p = personas
    month = data["month"]
    # support may not own deals through the services: two of the rep's are given to them here
    won = _won(p.rep, "4321.00", month.start)
    open_deal = make_opportunity(p.rep, amount="8765.00", expected_close_date=month.end)
    Opportunity.objects.filter(pk__in=[won.pk, open_deal.pk]).update(owner=p.support)
    params = {"period": month.key, "node": f"rep:{p.support.pk}"}
    support, rep = client_for(p.support), client_for(p.admin)
    seen = {key: _chart(rep, key, **params) for key in ("won_lost", "pipeline", "velocity", "attainment", "top_deals")}
    hidden = {key: _chart(support, key, **params) for key in seen}
    # an administrator sees the amounts (the control: the same snapshot)
    assert Decimal(seen["won_lost"]["rows"][-1][2]) == Decimal("4321.00")
    assert [s["name"] for s in seen["pipeline"]["series"]] == ["Amount", "Weighted"]
    assert seen["velocity"]["figure"] != ""
    # support: the counts stay, every amount is None, the amount series are gone
    won_row = hidden["won_lost"]["rows"][-1]
    assert won_row[0] == month.key and won_row[1] == 1 and won_row[2] is None
    assert [r[1] for r in hidden["pipeline"]["rows"]] == [r[1] for r in seen["pipeline"]["rows"]]
    assert all(r[2] is None and r[3] is None for r in hidden["pipeline"]["rows"])
    assert hidden["pipeline"]["series"] == [] and hidden["top_deals"]["series"] == []
    assert [r[0] for r in hidden["top_deals"]["rows"]] == [r[0] for r in seen["top_deals"]["rows"]]
    assert all(r[5] is None for r in hidden["top_deals"]["rows"])
    velocity = {r[0]: r[1] for r in hidden["velocity"]["rows"]}
    assert velocity["Open deals"] == 1 and velocity["Win rate %"] == "100.0"
    assert velocity["Average won amount"] is None and velocity["Sales velocity per day"] is None
    assert hidden["velocity"]["figure"] == ""
    attainment = {r[0]: r for r in hidden["attainment"]["rows"]}
    assert attainment["Won revenue"][1:4] == [None, None, None]
    assert attainment["Won deals"][1] == 1  # a count stays
    page = support.get(f"/dashboards/chart/won_lost/?period={month.key}&node=rep:{p.support.pk}").content.decode()
    assert "4,321" not in page and "4321" not in page
    # the export and the API carry the same gaps
    response = support.get("/dashboards/chart/won_lost/export", {**params, "format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "4321" not in text and list(csv.reader(io.StringIO(text)))[-1][1] == "1"
    body = api_for(p.support).get("/dashboards/won_lost", **params).json()
    assert body["rows"][-1][1:3] == ["1", None]
    assert [s["name"] for s in api_for(p.support).get("/dashboards/pipeline", **params).json()["series"]] == []
    # the records behind a figure: the deals are listed without their amounts
    link = seen["won_lost"]["series"][0]["links"][seen["won_lost"]["categories"].index(month.key)]
    listed = support.get(link)
    assert listed.context["total"] == 1 and "4321" not in listed.content.decode()
    assert "4321" in rep.get(link).content.decode()
