"""Scorecard figures, medians and funnel math, each against a plain Python loop over the rows."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from salesflow.activities.models import Activity
from salesflow.analytics.selectors import Node
from salesflow.core.periods import Period, period_containing
from salesflow.leads.models import Lead
from salesflow.sales.choices import Outcome, StageKind
from salesflow.sales.models import LostReason, Opportunity, Stage, StageChange
from salesflow.sales.services import default_pipeline, opportunity_close
from salesflow.sales.tests.factories import make_opportunity, stage
from salesflow.scorecards.selectors import (
    MIN_SAMPLE,
    ceil_fraction,
    funnel,
    median,
    scorecard,
)
from salesflow.users.testing import make_personas

pytestmark = pytest.mark.django_db
ZONE = ZoneInfo(settings.TIME_ZONE)


def _loop_median(values: list) -> object:  # type: ignore[type-arg]
    values = sorted(values)
    if not values:
        return None
    n = len(values)
    if n % 2 == 1:
        return values[n // 2]
    return (values[n // 2 - 1] + values[n // 2]) / 2


def test_median_exact_odd_even_and_empty() -> None:
    assert median([Decimal("3"), Decimal("1"), Decimal("2")]) == Decimal("2")
    assert median([Decimal("1"), Decimal("2"), Decimal("4"), Decimal("10")]) == Decimal("3")
    assert median([Decimal("0.01"), Decimal("0.02")]) == Decimal("0.015")
    assert median([Fraction(1, 3), Fraction(1, 2)]) == Fraction(5, 12)
    assert median([]) is None


def test_ceiling_is_exact() -> None:
    for num in range(1, 60):
        for den in range(1, 13):
            assert ceil_fraction(Fraction(num, den)) == math.ceil(num / den) == -(-num // den)
    assert ceil_fraction(Fraction(10**30 + 1, 10**30)) == 2


def _last_month(today: date) -> Period:
    return period_containing("month", today.replace(day=1) - timedelta(days=1))


def _deal(owner, amount, code, *, created: date, closed: date | None, outcome=Outcome.WON, via=()):  # type: ignore[no-untyped-def]
    opp = make_opportunity(owner, amount=amount, stage_code=code)
    for extra in via:  # extra stages the deal passed through
        to = stage(extra)
        StageChange.objects.create(
            opportunity=opp, from_stage=opp.stage, to_stage=to, owner=owner, to_position=to.position
        )
    if closed is not None:
        reason = LostReason.objects.first() if outcome == Outcome.LOST else None
        opportunity_close(actor=owner, opportunity=opp, outcome=outcome, closed_on=closed, lost_reason=reason)
    Opportunity.objects.filter(pk=opp.pk).update(created_at=datetime.combine(created, time(10), ZONE))
    # the stage entries happened from the creation day on, an hour apart (the close stays later)
    for i, change in enumerate(
        StageChange.objects.filter(opportunity=opp, to_stage__kind=StageKind.OPEN).order_by("pk")
    ):
        StageChange.objects.filter(pk=change.pk).update(changed_at=datetime.combine(created, time(10 + i), ZONE))
    return opp


def _loop_cards(owner_ids: set[int], start: date, end: date) -> dict[int, dict]:  # type: ignore[type-arg]
    """Walk every deal and stage change: won amount/count, lost, cycle, stage → won."""
    out: dict[int, dict] = {o: {"won": Decimal(0), "wn": 0, "ln": 0, "cyc": [], "sw": {}, "sc": {}} for o in owner_ids}  # type: ignore[type-arg]
    open_stage_ids = {s.pk for s in Stage.objects.all() if s.kind == StageKind.OPEN}
    for opp in Opportunity.objects.all():
        if opp.owner_id not in owner_ids or opp.closed_on is None or not start <= opp.closed_on <= end:
            continue
        if opp.outcome not in (Outcome.WON, Outcome.LOST):
            continue
        row = out[opp.owner_id]
        entered = {c.to_stage_id for c in StageChange.objects.filter(opportunity=opp)} & open_stage_ids
        for sid in entered:
            row["sc"][sid] = row["sc"].get(sid, 0) + 1
            if opp.outcome == Outcome.WON:
                row["sw"][sid] = row["sw"].get(sid, 0) + 1
        if opp.outcome == Outcome.WON:
            row["won"] += opp.amount
            row["wn"] += 1
            row["cyc"].append(max(0, (opp.closed_on - opp.created_at.astimezone(ZONE).date()).days))
        else:
            row["ln"] += 1
    return out


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    p = make_personas()
    today = timezone.localdate()
    month = _last_month(today)
    d = month.start
    # rep: 3 won, 1 lost; teammate: 1 won, 2 lost; manager (department) 1 won
    _deal(p.rep, "1000.00", "qualification", created=d - timedelta(days=20), closed=d, via=("proposal",))
    _deal(p.rep, "2000.00", "proposal", created=d - timedelta(days=5), closed=d + timedelta(days=3))
    _deal(p.rep, "4000.50", "qualification", created=d, closed=d + timedelta(days=10))
    _deal(p.rep, "999.00", "qualification", created=d, closed=d + timedelta(days=2), outcome=Outcome.LOST)
    _deal(p.teammate, "500.00", "proposal", created=d - timedelta(days=1), closed=d + timedelta(days=1))
    _deal(p.teammate, "700.00", "proposal", created=d, closed=d + timedelta(days=4), outcome=Outcome.LOST)
    _deal(p.teammate, "800.00", "qualification", created=d, closed=d + timedelta(days=4), outcome=Outcome.LOST)
    # outside the month: not counted
    _deal(p.rep, "9999.00", "proposal", created=d - timedelta(days=90), closed=d - timedelta(days=1))
    # open deals: not closed
    _deal(p.rep, "3000.00", "proposal", created=d, closed=None)
    moment = datetime.combine(d + timedelta(days=2), time(9), ZONE)
    for owner, kind in [(p.rep, "visit"), (p.rep, "call"), (p.teammate, "visit"), (p.rep, "visit")]:
        Activity.objects.create(kind=kind, subject="跟进", owner=owner, done=True, done_at=moment)
    return p, month, today


def _q(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), ROUND_HALF_UP)


def _loop_steps(owner_ids: set[int], start: date, end: date) -> dict[tuple[int, int], tuple[int, int]]:
    """(owner at the time, stage) → (entered, advanced): every StageChange into an open stage
    of the default pipeline during the period; advanced = a later change of the deal to a
    higher position, or the deal won."""
    pipeline = default_pipeline()
    entered: dict[tuple[int, int], set[int]] = {}
    advanced: dict[tuple[int, int], set[int]] = {}
    changes = list(StageChange.objects.select_related("to_stage", "opportunity"))
    for ch in changes:
        if ch.to_stage.pipeline_id != pipeline.pk or ch.to_stage.kind != StageKind.OPEN:
            continue
        if ch.owner_id not in owner_ids or not start <= ch.changed_at.astimezone(ZONE).date() <= end:
            continue
        key = (ch.owner_id, ch.to_stage_id)
        entered.setdefault(key, set()).add(ch.opportunity_id)
        later = any(
            o.opportunity_id == ch.opportunity_id
            and o.to_stage.pipeline_id == pipeline.pk
            and o.changed_at >= ch.changed_at
            and (o.to_position or 0) > (ch.to_position or 0)
            for o in changes
        )
        if later or ch.opportunity.outcome == Outcome.WON:
            advanced.setdefault(key, set()).add(ch.opportunity_id)
    return {k: (len(v), len(advanced.get(k, set()))) for k, v in entered.items()}


def test_team_scorecard_matches_the_loop(world, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    p, month, today = world
    node = Node("team", p.team_a.pk, p.team_a.name)
    with django_assert_max_num_queries(40):
        card = scorecard(node, month, today=today)
    ids = {c.user_id for c in card.rows}
    assert ids == {p.rep.pk, p.teammate.pk}  # assistant and support do not sell
    loop = _loop_cards(ids, month.start, month.end)
    steps = _loop_steps(ids, month.start, month.end)
    assert any(steps.values())
    for row in card.rows:
        want = loop[row.user_id]
        f = row.stats
        assert f.won_amount == want["won"]
        assert f.won_count == want["wn"]
        assert f.lost_count == want["ln"]
        n = want["wn"] + want["ln"]
        assert f.win_rate == (_q(Decimal(want["wn"]) / n, "0.0001") if n else None)
        assert f.avg_won_amount == (_q(want["won"] / want["wn"], "0.01") if want["wn"] else None)
        cyc = want["cyc"]
        assert f.cycle_days == (_q(Decimal(sum(cyc)) / len(cyc), "0.01") if cyc else None)
        for s in card.stages:
            got = row.steps.get(s.stage_id)
            ent, adv = steps.get((row.user_id, s.stage_id), (0, 0))
            assert ((got.entered, got.advanced) if got else (0, 0)) == (ent, adv)
        acts = [a for a in Activity.objects.all() if a.owner_id == row.user_id and a.done]
        assert row.activities == len(acts)
        assert row.visits == len([a for a in acts if a.kind == "visit"])
    # medians over the two reps: the mean of the two values (even count)
    rows = {c.user_id: c for c in card.rows}
    r, t = rows[p.rep.pk], rows[p.teammate.pk]
    assert card.medians.won_amount == (r.stats.won_amount + t.stats.won_amount) / 2 == Decimal("3750.25")
    assert card.medians.win_rate == (Decimal("0.7500") + Decimal("0.3333")) / 2
    assert card.medians.activities == Decimal(3 + 1) / 2
    assert card.medians.avg_won == _loop_median([r.stats.avg_won_amount, t.stats.avg_won_amount])
    assert card.medians.cycle_days == _loop_median([r.stats.cycle_days, t.stats.cycle_days])
    for s in card.stages:
        values = [
            c.steps[s.stage_id].rate
            for c in card.rows
            if s.stage_id in c.steps and c.steps[s.stage_id].rate is not None
        ]
        assert card.medians.stage_rates[s.stage_id] == _loop_median(values)


def test_odd_count_median_is_the_middle_rep(world) -> None:  # type: ignore[no-untyped-def]
    p, month, today = world
    card = scorecard(Node("team", p.department.pk, "d"), month, today=today)
    assert {c.user_id for c in card.rows} == {p.rep.pk, p.teammate.pk, p.manager.pk}
    assert card.medians.won_count == Decimal(1)  # 3, 1, 0 → 1
    assert card.medians.won_amount == Decimal("500.00")


def test_rep_scorecard_shows_the_teams_median(world) -> None:  # type: ignore[no-untyped-def]
    p, month, today = world
    card = scorecard(Node("rep", p.rep.pk, "张伟"), month, today=today)
    assert [c.user_id for c in card.rows] == [p.rep.pk]
    assert card.median_of.key == f"team:{p.team_a.pk}"
    assert card.medians.won_count == Decimal(3 + 1) / 2


def test_stalled_now_counts_open_deals_past_the_stage_threshold(world) -> None:  # type: ignore[no-untyped-def]
    p, month, today = world
    old = make_opportunity(p.teammate, amount="100.00", stage_code="proposal")
    threshold = old.stage.rotting_days or 1
    Opportunity.objects.filter(pk=old.pk).update(stage_entered_at=timezone.now() - timedelta(days=threshold + 1))
    card = scorecard(Node("team", p.team_a.pk, "a"), month, today=today)
    rows = {c.user_id: c.stalled for c in card.rows}
    now = timezone.now()
    for uid, got in rows.items():
        want = 0
        for opp in Opportunity.objects.filter(owner_id=uid, outcome=Outcome.OPEN).select_related("stage"):
            days = opp.stage.rotting_days
            if (
                opp.stage.kind == StageKind.OPEN
                and days is not None
                and opp.stage_entered_at < now - timedelta(days=days)
            ):
                want += 1
        assert got == want
    assert rows[p.teammate.pk] >= 1


def _funnel_world(p, today: date) -> None:  # type: ignore[no-untyped-def]
    """Enough trailing history for the rep: 6 won, 4 lost, leads 6 converted of 8 decided."""
    for i in range(6):
        _deal(
            p.rep,
            f"{1000 + i * 250}.00",
            "qualification",
            created=today - timedelta(days=40 + i),
            closed=today - timedelta(days=10 + i),
            via=("proposal",) if i % 2 else (),
        )
    for i in range(4):
        _deal(
            p.rep,
            "800.00",
            "qualification",
            created=today - timedelta(days=60),
            closed=today - timedelta(days=20 + i),
            outcome=Outcome.LOST,
        )
    # the teammate: too few cases
    _deal(p.teammate, "5000.00", "proposal", created=today - timedelta(days=30), closed=today - timedelta(days=3))
    # older than the trailing year: ignored
    _deal(p.rep, "99999.00", "qualification", created=today - timedelta(days=500), closed=today - timedelta(days=400))
    for i, status in enumerate(["converted"] * 6 + ["disqualified"] * 2 + ["new", "qualified"]):
        lead = Lead.objects.create(name=f"线索{i}", owner=p.rep, status=status)
        Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - timedelta(days=30))


def test_funnel_math_matches_the_loop(django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    p = make_personas()
    today = timezone.localdate()
    _funnel_world(p, today)
    period = period_containing("quarter", today)
    node = Node("team", p.team_a.pk, p.team_a.name)
    gap = Decimal("10000.00")
    with django_assert_max_num_queries(30):
        result = funnel(node, period, gap=gap, today=today)
    start = today - timedelta(days=364)
    loop = _loop_cards({p.rep.pk, p.teammate.pk}, start, today)
    # the team: every owner together
    won = sum((v["won"] for v in loop.values()), Decimal(0))
    wn = sum(v["wn"] for v in loop.values())
    assert result.team.remaining == gap and result.team.gap_source == "typed"
    assert result.team.figures.won_amount == won and result.team.figures.won_count == wn
    needed = Fraction(gap) / (Fraction(won) / wn)
    assert result.team.deals_needed == math.ceil(needed)
    for need in result.team.stages:
        sw = sum(v["sw"].get(need.stage.pk, 0) for v in loop.values())
        sc = sum(v["sc"].get(need.stage.pk, 0) for v in loop.values())
        assert (need.rate.numerator, need.rate.denominator) == (sw, sc)
        if sc >= MIN_SAMPLE and sw:
            assert (
                need.need
                == -(-(needed * sc).numerator // ((needed * sc).denominator * sw))
                == math.ceil(needed * sc / sw)
            )
        else:
            assert need.need is None
    # leads: 6 converted of 8 decided (new/qualified are not decided)
    assert (result.team.figures.leads_converted, result.team.figures.leads_decided) == (6, 8)
    first = result.team.stages[0]
    assert result.team.lead_stage == first.stage
    if first.need is not None:
        want = needed / (Fraction(first.rate.numerator, first.rate.denominator) * Fraction(6, 8))
        assert result.team.leads_needed == math.ceil(want)
    # the teammate has one won deal: too few, no number; no target, no typed gap for reps
    mate = next(line for line in result.reps if line.node_key == f"rep:{p.teammate.pk}")
    assert mate.remaining is None and mate.deals_needed is None
    assert all(s.need is None for s in mate.stages)


def test_funnel_small_samples_give_no_number_and_zero_gap_needs_nothing() -> None:
    p = make_personas()
    today = timezone.localdate()
    _deal(p.rep, "1000.00", "qualification", created=today - timedelta(days=5), closed=today - timedelta(days=1))
    node = Node("rep", p.rep.pk, "张伟")
    period = period_containing("quarter", today)
    small = funnel(node, period, gap=Decimal("5000"), today=today)
    assert small.team.deals_needed is None and small.team.leads_needed is None
    assert all(s.need is None for s in small.team.stages)
    done = funnel(node, period, gap=Decimal("0"), today=today)
    assert done.team.deals_needed == 0 and all(s.need == 0 for s in done.team.stages)
    nothing = funnel(node, period, today=today)
    assert nothing.team.remaining is None and nothing.team.gap_source == "none"


def test_funnel_cycle_time_matches_the_loop_across_the_zone_boundary() -> None:
    """Cycle days summed in SQL equal the loop: creation day in the company zone (23:30 local
    is the previous UTC day's evening), a deal closed before it was created counts 0."""
    p = make_personas()
    today = timezone.localdate()
    late = _deal(
        p.rep, "1000.00", "qualification", created=today - timedelta(days=30), closed=today - timedelta(days=5)
    )
    Opportunity.objects.filter(pk=late.pk).update(
        created_at=datetime.combine(today - timedelta(days=30), time(23, 30), ZONE)
    )
    early = _deal(
        p.rep, "1000.00", "qualification", created=today - timedelta(days=9), closed=today - timedelta(days=9)
    )
    Opportunity.objects.filter(pk=early.pk).update(
        created_at=datetime.combine(today - timedelta(days=9), time(0, 5), ZONE)
    )
    _deal(p.rep, "1000.00", "qualification", created=today - timedelta(days=2), closed=today - timedelta(days=6))
    _deal(p.teammate, "700.00", "proposal", created=today - timedelta(days=50), closed=today - timedelta(days=1))
    _deal(
        p.rep,
        "700.00",
        "proposal",
        created=today - timedelta(days=50),
        closed=today - timedelta(days=1),
        outcome=Outcome.LOST,
    )
    node = Node("team", p.team_a.pk, p.team_a.name)
    result = funnel(node, period_containing("quarter", today), today=today)
    loop = _loop_cards({p.rep.pk, p.teammate.pk}, today - timedelta(days=364), today)
    for line in result.reps:
        owner = int(line.node_key.split(":")[1])
        if owner in loop:
            assert line.figures.cycle_days_total == sum(loop[owner]["cyc"])
            assert line.figures.cycle_count == len(loop[owner]["cyc"])
    assert sorted(loop[p.rep.pk]["cyc"]) == [0, 0, 25] and loop[p.teammate.pk]["cyc"] == [49]
    assert result.team.figures.cycle_days_total == 25 + 49 and result.team.figures.cycle_count == 4
