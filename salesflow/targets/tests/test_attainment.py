"""Attainment (issue 10): target derivation, actuals against a plain loop over the deals, pace
and projection at the period boundaries, and constant queries for many nodes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from salesflow.analytics.selectors import Node
from salesflow.core.periods import month_period, parse_period, quarter_period, year_period
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity
from salesflow.targets.models import PlanVersion, SalesPlan, Target, VersionStatus
from salesflow.targets.selectors import attainment, attainments, target_of
from salesflow.users.testing import make_personas

pytestmark = pytest.mark.django_db
YEAR = 2025


def _won(owner, amount, day):  # type: ignore[no-untyped-def]
    opp = make_opportunity(owner, amount=amount, currency="CNY")
    return opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.WON, closed_on=day)


def _locked_version(rows: dict[tuple[str, str], str], status: str = VersionStatus.LOCKED) -> PlanVersion:
    plan, _ = SalesPlan.objects.get_or_create(year=YEAR)
    number = plan.versions.count() + 1
    version = PlanVersion.objects.create(plan=plan, number=number, status=status)
    for (node, period), value in rows.items():
        Target.objects.create(
            version=version, metric_key="won_revenue", node_key=node, period_key=period, value=Decimal(value)
        )
    return version


def _loop(owner_ids: set[int], start: date, end: date) -> Decimal:
    total = Decimal(0)
    for opp in Opportunity.objects.all():
        if opp.outcome == Outcome.WON and opp.closed_on and start <= opp.closed_on <= end and opp.owner_id in owner_ids:
            total += opp.amount
    return total


def test_attainment_against_a_loop_and_derived_targets() -> None:
    p = make_personas()
    rep = Node("rep", p.rep.pk, str(p.rep))
    _locked_version({(rep.key, "2025"): "1200000.00"})
    _won(p.rep, "30000.00", date(2025, 3, 5))
    _won(p.rep, "20000.00", date(2025, 3, 31))
    _won(p.rep, "99999.00", date(2025, 4, 1))
    _won(p.teammate, "5000.00", date(2025, 3, 6))
    march = month_period(2025, 3)
    # the year is split by days (no seasonality): March's share by largest remainder
    target = target_of(node=rep, metric_key="won_revenue", period=march)
    assert target is not None
    q1 = quarter_period(2025, 1)
    q_share = Decimal("1200000.00") * q1.days / 365
    assert abs(target - q_share * 31 / q1.days) < Decimal("0.02")
    a = attainment(node=rep, metric_key="won_revenue", period=march, today=date(2025, 3, 31))
    assert a.actual == _loop({p.rep.pk}, march.start, march.end) == Decimal("50000.00")
    assert a.target == target
    assert a.ratio == (a.actual / target).quantize(Decimal("0.0001"))
    assert a.gap == target - a.actual
    assert a.expected == target  # the month is over
    assert a.projection == a.actual
    # halfway: pace and projection; before the start: nothing projected
    mid = attainment(node=rep, metric_key="won_revenue", period=march, today=date(2025, 3, 5))
    assert mid.actual == Decimal("50000.00")  # what is recorded, whatever "today" says
    assert mid.expected == (target * 5 / 31).quantize(Decimal("0.01"))
    assert mid.projection == (Decimal("50000.00") * 31 / 5).quantize(Decimal("0.01"))
    before = attainment(node=rep, metric_key="won_revenue", period=march, today=date(2025, 2, 28))
    assert before.expected == 0 and before.projection == 0


def test_no_locked_version_means_no_target() -> None:
    p = make_personas()
    rep = Node("rep", p.rep.pk, str(p.rep))
    _locked_version({(rep.key, "2025"): "100.00"}, status=VersionStatus.DRAFT)
    a = attainment(node=rep, metric_key="won_revenue", period=year_period(2025), today=date(2025, 6, 1))
    assert a.target is None and a.ratio is None and a.gap is None and a.expected is None


def test_rollup_and_sum_of_children_periods() -> None:
    p = make_personas()
    rep, mate = Node("rep", p.rep.pk), Node("rep", p.teammate.pk)
    team = Node("team", p.team_a.pk)
    rows = {(rep.key, f"2025-Q{q}"): "100.00" for q in range(1, 5)}
    rows[(mate.key, "2025")] = "50.00"
    _locked_version(rows)
    assert target_of(node=rep, metric_key="won_revenue", period=parse_period("2025")) == Decimal("400.00")
    assert target_of(node=team, metric_key="won_revenue", period=parse_period("2025")) == Decimal("450.00")


def test_attainments_constant_queries(django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    p = make_personas()
    _locked_version({("company", "2025"): "1000.00"})
    for person in (p.rep, p.teammate, p.outsider):
        _won(person, "10.00", date(2025, 5, 5))
    nodes = [Node("company"), Node("team", p.team_a.pk), Node("team", p.team_b.pk), Node("rep", p.rep.pk)]
    with django_assert_max_num_queries(9):
        found = attainments(nodes=nodes, metric_key="won_revenue", period=year_period(2025), today=date(2025, 12, 31))
    assert [a.actual for a in found] == [Decimal("30.00"), Decimal("20.00"), Decimal("10.00"), Decimal("10.00")]
    assert found[0].target == Decimal("1000.00")


def test_whole_period_actuals_per_owner_equal_the_per_day_figures(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """When no node counts an owner for only part of the period, the facts come one row per
    owner (``FactQuery.per_day`` off: a year of the company's activities was 73,000
    owner-days); every metric must give the same actuals as the per-day path."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.utils import timezone

    from salesflow.activities.tests.factories import make_activity
    from salesflow.analytics.selectors import actual
    from salesflow.core.services import exchange_rate_create
    from salesflow.targets import selectors

    p = make_personas()
    year = timezone.localdate().year - 1
    zone = ZoneInfo(settings.TIME_ZONE)
    exchange_rate_create(actor=p.admin, currency="USD", rate="7.00", valid_from=date(year, 1, 1))
    exchange_rate_create(actor=p.admin, currency="USD", rate="7.25", valid_from=date(year, 6, 1))
    for owner, amount, day, currency in [
        (p.rep, "1000.00", date(year, 3, 31), "CNY"),
        (p.rep, "100.00", date(year, 4, 1), "USD"),
        (p.rep, "100.00", date(year, 6, 1), "USD"),
        (p.teammate, "333.33", date(year, 5, 15), "CNY"),
        (p.outsider, "50.00", date(year, 12, 31), "CNY"),
    ]:
        opp = make_opportunity(owner, amount=amount, currency=currency)
        opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.WON, closed_on=day)
    for owner, local in [
        (p.rep, datetime(year, 1, 1, 0, 30)),
        (p.rep, datetime(year, 12, 31, 23, 30)),
        (p.teammate, datetime(year, 7, 1, 9)),
        (p.outsider, datetime(year + 1, 1, 1, 0, 10)),  # next year in the company zone
    ]:
        at = local.replace(tzinfo=zone)
        make_activity(owner, kind="visit", done=True, done_at=at, due_at=at)
    seen: list[bool] = []
    real = selectors.metric_facts

    def spy(key, query):  # type: ignore[no-untyped-def]
        seen.append(query.per_day)
        return real(key, query)

    monkeypatch.setattr(selectors, "metric_facts", spy)
    period = year_period(year)
    nodes = [Node("company"), Node("team", p.team_a.pk, "a"), Node("rep", p.rep.pk, "r"), Node("rep", p.outsider.pk)]
    got = {}
    for key in ("won_revenue", "won_deals", "activities", "visits", "new_customers"):
        got[key], _missing = selectors.actuals_for_nodes(nodes, key, period)
        assert got[key] == {n.key: actual(key, n, period).value for n in nodes}, key
    assert seen and not any(seen)  # the per-owner path was the one measured
    # by hand: visits on 1 Jan 00:30 and 31 Dec 23:30 (company zone) count, the outsider's
    # 1 Jan 00:10 of the next year does not; USD at the rate of each close day
    assert got["visits"]["company"] == 3 and got["visits"][f"rep:{p.rep.pk}"] == 2
    assert got["won_revenue"][f"rep:{p.rep.pk}"] == Decimal("2425.00")
    assert got["won_revenue"]["company"] == Decimal("2808.33")
