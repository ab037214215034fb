"""Derived measures (deal_stats, stage_conversion, pipeline_by_stage, won_lost_by_month),
each checked against a plain Python loop over the model rows: dated rates, reopened deals,
creation days in the company time zone, people who changed teams."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from salesflow.analytics.forms import AnalysisFilterForm, AnalysisFilters
from salesflow.analytics.selectors import (
    deal_stats,
    pipeline_by_stage,
    stage_conversion,
    won_lost_by_month,
)
from salesflow.core.services import exchange_rate_create
from salesflow.sales.choices import Outcome, StageKind
from salesflow.sales.models import LostReason, Opportunity, Stage, StageChange, StageCriterion
from salesflow.sales.services import opportunity_close, opportunity_move_stage, opportunity_reopen
from salesflow.sales.tests.factories import make_opportunity, stage
from salesflow.users.models import TeamMembership, User
from salesflow.users.services import user_change_team
from salesflow.users.testing import Personas, make_personas

pytestmark = pytest.mark.django_db

Q4 = Decimal("0.0001")
C2 = Decimal("0.01")


def analysis(user: User, **params: str) -> AnalysisFilters:
    form = AnalysisFilterForm(params, user=user)
    assert form.is_valid(), form.errors
    return form.analysis()


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _rate(rates: dict[str, list[tuple[date, Decimal]]], currency: str, day: date) -> Decimal | None:
    if currency == "CNY":
        return Decimal(1)
    valid = [r for d, r in sorted(rates.get(currency, [])) if d <= day]
    return valid[-1] if valid else None


def _r(num: Decimal, den: Decimal | int, q: Decimal) -> Decimal | None:
    return None if not den else (Decimal(num) / Decimal(den)).quantize(q, rounding=ROUND_HALF_UP)


def _close(
    owner: User,
    amount: str,
    day: date,
    outcome: str = Outcome.WON,
    currency: str = "CNY",
    created: datetime | None = None,
) -> Opportunity:
    opp = make_opportunity(owner, amount=amount, currency=currency)
    kwargs: dict[str, Any] = {}
    if outcome == Outcome.LOST:
        kwargs["lost_reason"] = LostReason.objects.first()
    opp = opportunity_close(actor=owner, opportunity=opp, outcome=outcome, closed_on=day, **kwargs)
    if created is not None:
        Opportunity.objects.filter(pk=opp.pk).update(created_at=created)
    return opp


def loop_stats(
    owners: set[int] | None, start: date, end: date, rates: dict[str, Any], open_owners: set[int] | None
) -> dict[str, Any]:
    """The independent computation over every deal."""
    won = lost = converted = days = 0
    won_amount = Decimal(0)
    open_count, open_amount = 0, Decimal(0)
    today = timezone.localdate()
    for opp in Opportunity.objects.all():
        if opp.outcome == Outcome.OPEN and (open_owners is None or opp.owner_id in open_owners):
            open_count += 1
            rate = _rate(rates, opp.currency, today)
            if rate is not None:
                open_amount += (opp.amount * rate).quantize(C2)
        if opp.closed_on is None or not start <= opp.closed_on <= end:
            continue
        if owners is not None and opp.owner_id not in owners:
            continue
        if opp.outcome == Outcome.LOST:
            lost += 1
        elif opp.outcome == Outcome.WON:
            won += 1
            days += (opp.closed_on - opp.created_at.astimezone(_zone()).date()).days
            rate = _rate(rates, opp.currency, opp.closed_on)
            if rate is not None:
                won_amount += (opp.amount * rate).quantize(C2)
                converted += 1
    win_rate = _r(Decimal(won), won + lost, Q4)
    avg = _r(won_amount, converted, C2)
    cycle = _r(Decimal(days), won, C2)
    velocity = None
    if win_rate is not None and avg is not None and cycle:
        velocity = _r(open_count * win_rate * avg, cycle, C2)
    return {
        "won_count": won,
        "lost_count": lost,
        "won_amount": won_amount,
        "win_rate": win_rate,
        "avg_won_amount": avg,
        "cycle_days": cycle,
        "open_count": open_count,
        "open_amount": open_amount,
        "velocity_per_day": velocity,
    }


def _as_dict(stats: Any) -> dict[str, Any]:
    keys = (
        "won_count",
        "lost_count",
        "won_amount",
        "win_rate",
        "avg_won_amount",
        "cycle_days",
        "open_count",
        "open_amount",
        "velocity_per_day",
    )
    return {k: getattr(stats, k) for k in keys}


def _setup_deals(p: Personas) -> tuple[int, dict[str, Any]]:
    year = timezone.localdate().year - 1
    exchange_rate_create(actor=p.admin, currency="USD", rate="7.00", valid_from=date(year, 1, 1))
    exchange_rate_create(actor=p.admin, currency="USD", rate="7.25", valid_from=date(year, 3, 15))
    rates = {"USD": [(date(year, 1, 1), Decimal("7.00")), (date(year, 3, 15), Decimal("7.25"))]}
    zone = _zone()
    # created 23:30 on 1 Feb company time (already 2 Feb in no zone east of it, still 1 Feb here)
    _close(p.rep, "1000.00", date(year, 3, 1), created=datetime(year, 2, 1, 23, 30, tzinfo=zone))
    _close(p.rep, "100.00", date(year, 3, 14), currency="USD", created=datetime(year, 3, 1, 0, 10, tzinfo=zone))
    _close(p.rep, "100.00", date(year, 3, 15), currency="USD", created=datetime(year, 3, 10, 12, tzinfo=zone))
    _close(p.rep, "50.00", date(year, 3, 20), currency="EUR", created=datetime(year, 3, 10, 12, tzinfo=zone))
    _close(p.rep, "300.00", date(year, 3, 5), outcome=Outcome.LOST)
    _close(p.teammate, "333.33", date(year, 3, 31), created=datetime(year, 1, 1, 0, 0, tzinfo=zone))
    _close(p.teammate, "10.00", date(year, 4, 1))  # next month
    reopened = _close(p.rep, "5000.00", date(year, 3, 2))
    opportunity_reopen(actor=p.rep, opportunity=reopened)  # open again, not won
    make_opportunity(p.rep, amount="200.00")
    make_opportunity(p.teammate, amount="10.00", currency="USD")  # no rate today? 7.25 holds
    make_opportunity(p.outsider, amount="999.00")
    return year, rates


def test_deal_stats_match_a_loop(django_assert_max_num_queries: Any) -> None:
    p = make_personas()
    year, rates = _setup_deals(p)
    start, end = date(year, 3, 1), date(year, 3, 31)
    with django_assert_max_num_queries(12):
        total, per_owner = deal_stats(analysis=analysis(p.admin, period=f"{year}-03", node="company"))
    assert _as_dict(total) == loop_stats(None, start, end, rates, None)
    assert total.missing_rates == {"EUR"}
    assert total.won_count == 5 and total.lost_count == 1 and total.open_count == 4
    assert total.won_amount == Decimal("1000.00") + Decimal("700.00") + Decimal("725.00") + Decimal("333.33")
    for owner in (p.rep, p.teammate, p.outsider):
        expected = loop_stats({owner.pk}, start, end, rates, {owner.pk})
        assert _as_dict(per_owner[owner.pk]) == expected, owner
    # the reopened deal counts as open, not won
    assert per_owner[p.rep.pk].open_count == 2
    team = analysis(p.manager, period=f"{year}-03", node=f"team:{p.team_a.pk}")
    t_total, _ = deal_stats(analysis=team)
    members = {u.pk for u in User.objects.filter(team=p.team_a)}
    assert _as_dict(t_total) == loop_stats(members, start, end, rates, members)


def test_cycle_days_use_the_company_creation_day() -> None:
    p = make_personas()
    year = timezone.localdate().year - 1
    zone = _zone()
    # 00:30 company time is the previous day in UTC: the cycle counts from the company day
    _close(p.rep, "10.00", date(year, 5, 11), created=datetime(year, 5, 1, 0, 30, tzinfo=zone))
    total, _ = deal_stats(analysis=analysis(p.admin, period=f"{year}-05", node="company"))
    assert total.cycle_days == Decimal("10.00")


def test_deal_stats_follow_the_team_at_the_time() -> None:
    p = make_personas()
    today = timezone.localdate()
    move_day = today - timedelta(days=10)
    TeamMembership.objects.create(user=p.rep, team=p.team_a, start=date(2000, 1, 1))
    _close(p.rep, "100.00", move_day - timedelta(days=1))
    _close(p.rep, "40.00", today)
    user_change_team(actor=p.admin, user=p.rep, team=p.team_b, effective=move_day)
    lo, hi = move_day - timedelta(days=1), today
    period = str(lo.year) if lo.year == hi.year else None
    if period is None:
        pytest.skip("range across fiscal years")
    a, _ = deal_stats(analysis=analysis(p.admin, period=period, node=f"team:{p.team_a.pk}"))
    b, _ = deal_stats(analysis=analysis(p.admin, period=period, node=f"team:{p.team_b.pk}"))
    assert (a.won_amount, a.won_count) == (Decimal("100.00"), 1)
    assert (b.won_amount, b.won_count) == (Decimal("40.00"), 1)


def test_filters_apply_to_deal_stats() -> None:
    p = make_personas()
    year = timezone.localdate().year - 1
    _close(p.rep, "100.00", date(year, 6, 1))
    other = make_opportunity(p.rep, amount="7.00")
    other.account.source = "partner"
    other.account.save()
    opportunity_close(actor=p.rep, opportunity=other, outcome=Outcome.WON, closed_on=date(year, 6, 2))
    total, _ = deal_stats(analysis=analysis(p.admin, period=f"{year}-06", node="company", source="partner"))
    assert (total.won_count, total.won_amount) == (1, Decimal("7.00"))


def _loop_conversion(owner: int | None, start: date, end: date) -> dict[int, tuple[int, int]]:
    zone = _zone()
    lo = datetime.combine(start, datetime.min.time(), zone)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), zone)
    rows = list(StageChange.objects.select_related("to_stage", "opportunity"))
    result: dict[int, tuple[set[int], set[int]]] = {}
    for sc in rows:
        if sc.to_stage.kind != StageKind.OPEN or not lo <= sc.changed_at < hi:
            continue
        if owner is not None and sc.owner_id != owner:
            continue
        entered, advanced = result.setdefault(sc.to_stage_id, (set(), set()))
        entered.add(sc.opportunity_id)
        later = [
            o
            for o in rows
            if o.opportunity_id == sc.opportunity_id
            and o.changed_at >= sc.changed_at
            and o.to_position is not None
            and sc.to_position is not None
            and o.to_position > sc.to_position
            and o.to_stage.pipeline_id == sc.to_stage.pipeline_id
        ]
        if later or sc.opportunity.outcome == Outcome.WON:
            advanced.add(sc.opportunity_id)
    return {k: (len(e), len(a)) for k, (e, a) in result.items()}


def test_stage_conversion_matches_a_loop() -> None:
    p = make_personas()
    StageCriterion.objects.all().delete()
    s_qual, s_needs = stage("qualification"), stage("needs")
    deals = [make_opportunity(p.rep) for _ in range(3)] + [make_opportunity(p.teammate) for _ in range(2)]
    for d in deals[:4]:
        opportunity_move_stage(actor=d.owner, opportunity=d, stage=s_qual)
    opportunity_move_stage(actor=p.rep, opportunity=deals[0], stage=s_needs)
    opportunity_close(actor=p.rep, opportunity=deals[1], outcome=Outcome.WON)
    # regression and re-entry: still one deal entering
    opportunity_move_stage(actor=p.teammate, opportunity=deals[3], stage=stage("prospect"))
    opportunity_move_stage(actor=p.teammate, opportunity=deals[3], stage=s_qual)
    today = timezone.localdate()
    a = analysis(p.admin, period=f"{today:%Y-%m}", node="company")
    total, per_owner = stage_conversion(analysis=a)
    month = a.period
    expected = _loop_conversion(None, month.start, month.end)
    assert [s.stage_id for s in total] == list(
        Stage.objects.filter(pipeline=s_qual.pipeline, kind="open").order_by("position").values_list("pk", flat=True)
    )
    for step in total:
        assert (step.entered, step.advanced) == expected.get(step.stage_id, (0, 0)), step.name
    by_id = {s.stage_id: s for s in total}
    assert (by_id[s_qual.pk].entered, by_id[s_qual.pk].advanced) == (4, 2)
    assert by_id[s_qual.pk].rate == Decimal("0.5000")
    for owner in (p.rep.pk, p.teammate.pk):
        exp = _loop_conversion(owner, month.start, month.end)
        for step in per_owner[owner]:
            assert (step.entered, step.advanced) == exp.get(step.stage_id, (0, 0))
    rep_total, _ = stage_conversion(analysis=analysis(p.rep, period=f"{today:%Y-%m}"))
    assert {s.stage_id: s.entered for s in rep_total}[s_qual.pk] == 3


def test_pipeline_by_stage_matches_a_loop() -> None:
    p = make_personas()
    StageCriterion.objects.all().delete()
    today = timezone.localdate()
    exchange_rate_create(actor=p.admin, currency="USD", rate="7.10", valid_from=today - timedelta(days=30))
    make_opportunity(p.rep, amount="1000.00")
    make_opportunity(p.rep, amount="333.33", currency="USD")
    d = make_opportunity(p.teammate, amount="250.00")
    opportunity_move_stage(actor=p.teammate, opportunity=d, stage=stage("demo"))
    make_opportunity(p.outsider, amount="1.00")
    _close(p.rep, "77.00", today)
    rows = pipeline_by_stage(analysis=analysis(p.manager, node=f"team:{p.team_a.pk}"))
    members = {u.pk for u in User.objects.filter(team=p.team_a)}
    rates = {"USD": Decimal("7.10"), "CNY": Decimal(1)}
    expected: dict[int, list[Any]] = {}
    for opp in Opportunity.objects.filter(outcome=Outcome.OPEN):
        if opp.owner_id not in members:
            continue
        cell = expected.setdefault(opp.stage_id, [0, Decimal(0), Decimal(0)])
        cell[0] += 1
        cell[1] += (opp.amount * rates[opp.currency]).quantize(C2)
        cell[2] += (opp.amount * rates[opp.currency] * opp.probability / 100).quantize(C2)
    for row in rows:
        assert [row.count, row.amount, row.weighted] == expected.get(row.stage_id, [0, 0, 0]), row.name
    assert sum(r.count for r in rows) == 3


def test_won_lost_by_month_matches_a_loop() -> None:
    p = make_personas()
    year, rates = _setup_deals(p)
    _close(p.rep, "5.00", date(year - 1, 4, 30))  # 11 months before March: inside
    _close(p.rep, "6.00", date(year - 1, 3, 31))  # 12 months before: outside
    rows = won_lost_by_month(analysis=analysis(p.admin, period=f"{year}-Q1", node="company"), months=12)
    fiscal_q1_end = analysis(p.admin, period=f"{year}-Q1").period.end
    assert rows[-1].key == f"{fiscal_q1_end:%Y-%m}" and len(rows) == 12
    for row in rows:
        y, m = int(row.key[:4]), int(row.key[5:])
        won = lost = 0
        amount = Decimal(0)
        for opp in Opportunity.objects.all():
            if opp.closed_on is None or (opp.closed_on.year, opp.closed_on.month) != (y, m):
                continue
            if opp.outcome == Outcome.LOST:
                lost += 1
            elif opp.outcome == Outcome.WON:
                won += 1
                rate = _rate(rates, opp.currency, opp.closed_on)
                if rate is not None:
                    amount += (opp.amount * rate).quantize(C2)
        assert (row.won_count, row.won_amount, row.lost_count) == (won, amount, lost), row.key
        assert row.win_rate == _r(Decimal(won), won + lost, Q4)
