"""Actual figures per node and period, each checked against a plain Python loop over the rows
(issue 10 "right numbers"): dated rates, reopened deals, team changes mid-year, time zones."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.http import Http404
from django.utils import timezone

from salesflow.activities.models import Activity
from salesflow.analytics.selectors import Node, actual, actuals_by_owner, actuals_by_period, node_for_user
from salesflow.core.metrics import MetricFilters, all_metrics
from salesflow.core.periods import month_period, parse_period, quarter_period, year_period
from salesflow.core.services import exchange_rate_create
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_close, opportunity_reopen
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.models import TeamMembership
from salesflow.users.services import user_change_team
from salesflow.users.testing import make_personas

pytestmark = pytest.mark.django_db


def _won(owner, amount, day, currency="CNY"):  # type: ignore[no-untyped-def]
    opp = make_opportunity(owner, amount=amount, currency=currency)
    return opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.WON, closed_on=day)


def _loop_won(owners: set[int] | None, start: date, end: date, rates: dict[str, list[tuple[date, Decimal]]]) -> Decimal:
    """The independent computation: walk every deal, convert by hand."""
    total = Decimal(0)
    for opp in Opportunity.objects.all():
        if opp.outcome != Outcome.WON or opp.closed_on is None or not start <= opp.closed_on <= end:
            continue
        if owners is not None and opp.owner_id not in owners:
            continue
        if opp.currency == "CNY":
            total += opp.amount
            continue
        valid = [r for d, r in sorted(rates[opp.currency]) if d <= opp.closed_on]
        if valid:
            total += (opp.amount * valid[-1]).quantize(Decimal("0.01"))
    return total


def test_registry_holds_the_core_metrics() -> None:
    keys = {m.key for m in all_metrics()}
    assert {"won_revenue", "collections", "new_customers", "won_deals", "visits", "activities"} <= keys
    assert "lost_deals" not in {m.key for m in all_metrics(plannable=True)}


def test_won_revenue_uses_close_date_dated_rates_and_drops_reopened_deals() -> None:
    p = make_personas()
    today = timezone.localdate()
    year = today.year - 1  # a whole past year: close dates in the past only
    exchange_rate_create(actor=p.admin, currency="USD", rate="7.00", valid_from=date(year, 1, 1))
    exchange_rate_create(actor=p.admin, currency="USD", rate="7.25", valid_from=date(year, 6, 1))
    _won(p.rep, "1000.00", date(year, 3, 31))
    _won(p.rep, "100.00", date(year, 4, 1), "USD")  # 700.00
    _won(p.rep, "100.00", date(year, 6, 1), "USD")  # 725.00
    _won(p.teammate, "333.33", date(year, 5, 15))
    reopened = _won(p.rep, "5000.00", date(year, 5, 1))
    opportunity_reopen(actor=p.rep, opportunity=reopened)
    rates = {"USD": [(date(year, 1, 1), Decimal("7.00")), (date(year, 6, 1), Decimal("7.25"))]}

    q1, q2 = quarter_period(year, 1), quarter_period(year, 2)
    rep_node = Node("rep", p.rep.pk, "rep")
    got = actuals_by_period("won_revenue", rep_node, [q1, q2])
    assert got[q1.key].value == _loop_won({p.rep.pk}, q1.start, q1.end, rates) == Decimal("1000.00")
    assert got[q2.key].value == _loop_won({p.rep.pk}, q2.start, q2.end, rates) == Decimal("1425.00")
    team = Node("team", p.team_a.pk, "a")
    assert actual("won_revenue", team, year_period(year)).value == _loop_won(
        {p.rep.pk, p.teammate.pk}, date(year, 1, 1), date(year, 12, 31), rates
    )
    assert actual("won_deals", team, year_period(year)).value == 4


def test_missing_rate_is_left_out_and_named() -> None:
    p = make_personas()
    year = timezone.localdate().year - 1
    _won(p.rep, "10.00", date(year, 2, 1), "EUR")
    _won(p.rep, "10.00", date(year, 2, 1))
    got = actual("won_revenue", Node("rep", p.rep.pk), month_period(year, 2))
    assert got.value == Decimal("10.00") and got.missing_rates == {"EUR"} and got.count == 1


def test_team_change_mid_year_keeps_history_with_the_old_team() -> None:
    p = make_personas()
    today = timezone.localdate()
    move_day = today - timedelta(days=10)
    TeamMembership.objects.create(user=p.rep, team=p.team_a, start=date(2000, 1, 1))
    before = _won(p.rep, "100.00", move_day - timedelta(days=1))
    after = _won(p.rep, "40.00", today)
    user_change_team(actor=p.admin, user=p.rep, team=p.team_b, effective=move_day)
    span = parse_period(f"{today.year:04d}")
    if not span.contains(before.closed_on):  # type: ignore[arg-type]
        span = year_period(today.year - 1)
    start, end = min(before.closed_on, after.closed_on), max(before.closed_on, after.closed_on)  # type: ignore[type-var]
    from salesflow.core.periods import Period

    whole = Period(start, end, "year", "x")
    a = actual("won_revenue", Node("team", p.team_a.pk), whole).value
    b = actual("won_revenue", Node("team", p.team_b.pk), whole).value
    assert (a, b) == (Decimal("100.00"), Decimal("40.00"))
    assert actual("won_revenue", Node("rep", p.rep.pk), whole).value == Decimal("140.00")
    assert actuals_by_owner("won_revenue", Node("team", p.team_b.pk), whole)[p.rep.pk].value == Decimal("40.00")


def test_activities_count_on_the_company_day(settings) -> None:  # type: ignore[no-untyped-def]
    p = make_personas()
    zone = ZoneInfo(settings.TIME_ZONE)
    year = timezone.localdate().year - 1
    # 23:30 on 31 March in the company zone is still March, although it is 31 March in UTC too
    # and 1 April 00:30 there is April
    for moment in (datetime(year, 3, 31, 23, 30, tzinfo=zone), datetime(year, 4, 1, 0, 30, tzinfo=zone)):
        Activity.objects.create(kind="visit", subject="拜访", owner=p.rep, done=True, done_at=moment)
    march = actual("visits", Node("rep", p.rep.pk), month_period(year, 3))
    april = actual("visits", Node("rep", p.rep.pk), month_period(year, 4))
    loop = {3: 0, 4: 0}
    for act in Activity.objects.filter(owner=p.rep, done=True, kind="visit"):
        loop[act.done_at.astimezone(zone).month] += 1  # type: ignore[union-attr]
    assert (march.value, april.value) == (Decimal(loop[3]), Decimal(loop[4])) == (Decimal(1), Decimal(1))


def test_pipeline_filter_applies() -> None:
    p = make_personas()
    year = timezone.localdate().year - 1
    deal = _won(p.rep, "10.00", date(year, 2, 1))
    node = Node("rep", p.rep.pk)
    assert (
        actual("won_revenue", node, month_period(year, 2), MetricFilters(pipeline_ids=(deal.pipeline_id,))).value == 10
    )
    assert actual("won_revenue", node, month_period(year, 2), MetricFilters(pipeline_ids=(0,))).value == 0


def test_node_visibility() -> None:
    p = make_personas()
    assert node_for_user(p.admin, "company").kind == "company"
    assert node_for_user(p.manager, f"team:{p.team_a.pk}").id == p.team_a.pk
    assert node_for_user(p.manager, f"rep:{p.rep.pk}").id == p.rep.pk
    for who, key in [
        (p.manager, "company"),
        (p.manager, f"team:{p.team_b.pk}"),
        (p.manager, f"rep:{p.outsider.pk}"),
        (p.rep, f"rep:{p.teammate.pk}"),
        (p.rep, f"team:{p.team_a.pk}"),
        (p.admin, "team:999999"),
        (p.admin, "bogus"),
    ]:
        with pytest.raises(Http404):
            node_for_user(who, key)
    assert node_for_user(p.assistant, f"rep:{p.rep.pk}").id == p.rep.pk
