"""Stall detection: the rule (stage threshold, team's 80th percentile with ≥ 30 exits), the
daily statistic against an independent computation, the escalation job (idempotent, new
episode after a move), and the "where is each rep stuck" matrix against a Python loop."""

from __future__ import annotations

import math
import random
import statistics
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from salesflow.core.errors import Forbidden
from salesflow.core.models import AuditEvent
from salesflow.sales.choices import Outcome, StallBasis
from salesflow.sales.models import (
    Opportunity,
    Stage,
    StageChange,
    StageDwellStat,
    StallEscalationStep,
    StallNotice,
)
from salesflow.sales.selectors import (
    STALL_MIN_EXITS,
    board,
    opportunity_detail,
    opportunity_list,
    stall_rules,
    stall_status,
    stuck_matrix,
)
from salesflow.sales.services import (
    default_pipeline,
    opportunities_escalate_stalled,
    opportunity_move_stage,
    stage_dwell_stats_compute,
)
from salesflow.sales.stuck_services import stuck_buckets_rebuild
from salesflow.sales.tests.factories import make_opportunity, make_pipeline, stage
from salesflow.users.services import system_actor

pytestmark = pytest.mark.django_db
DAY = 86400


def age(opp: Opportunity, days: float) -> Opportunity:
    """Put the deal ``days`` into its current stage (a raw write past the services, so the
    stuck matrix's aggregate is rebuilt as after a bulk load)."""
    Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=timezone.now() - timedelta(days=days))
    stuck_buckets_rebuild()
    return Opportunity.objects.select_related("owner", "stage").get(pk=opp.pk)


def exits(opp: Opportunity, from_code: str, team_id: int | None, durations: list[int], *, days_ago: int = 1) -> None:
    """``len(durations)`` exits from the stage by deals of ``team_id`` (durations in seconds)."""
    frm, to = stage(from_code), stage("negotiation")
    StageChange.objects.bulk_create(
        StageChange(
            opportunity=opp,
            from_stage=frm,
            to_stage=to,
            duration_seconds=d,
            owner_team_id=team_id,
            changed_at=timezone.now() - timedelta(days=days_ago),
        )
        for d in durations
    )


def team_history(personas, n: int, p80_days: float = 8) -> None:
    """``n`` exits from "prospect" (threshold 14 days) by team_a, whose 80th percentile is
    ``p80_days``: durations p80·i/⌈0.8n⌉ days for i = 1..n."""
    anchor = make_opportunity(personas.teammate, stage_code="negotiation")
    k = math.ceil(0.8 * n)
    exits(anchor, "prospect", personas.team_a.pk, [round(p80_days * DAY * i / k) for i in range(1, n + 1)])
    stage_dwell_stats_compute(actor=system_actor())


# ----------------------------------------------------------------------------- rule


def test_stage_threshold_rule(personas):
    assert stage("prospect").rotting_days == 14
    fresh = age(make_opportunity(personas.rep, stage_code="prospect"), 13.5)
    old = age(make_opportunity(personas.rep, stage_code="prospect"), 15)
    now = timezone.now()
    assert stall_status(fresh, fresh.stage, now).stalled is False
    status = stall_status(old, old.stage, now)
    assert (status.stalled, status.days_in_stage, status.threshold_days, status.basis) == (
        True,
        15,
        14,
        StallBasis.STAGE,
    )
    assert status.sample_size is None


def test_team_p80_with_30_exits_applies_to_the_team_only(personas):
    team_history(personas, STALL_MIN_EXITS, p80_days=8)
    mine = age(make_opportunity(personas.rep, stage_code="prospect"), 9)  # team_a
    other = age(make_opportunity(personas.outsider, stage_code="prospect"), 9)  # team_b: no history
    now = timezone.now()
    status = stall_status(mine, mine.stage, now)
    assert (status.stalled, status.threshold_days, status.basis, status.sample_size) == (
        True,
        8,
        StallBasis.TEAM_P80,
        30,
    )
    assert stall_status(other, other.stage, now).stalled is False
    # the SQL form of the rule agrees (board count, list filter)
    col = next(c for c in board(personas.admin, pipeline=default_pipeline()).columns if c.stage.code == "prospect")
    assert col.stalled_count == 1
    assert list(opportunity_list(personas.admin, stalled=True).values_list("pk", flat=True)) == [mine.pk]


def test_fewer_than_30_exits_fall_back_to_the_stage_threshold(personas):
    team_history(personas, STALL_MIN_EXITS - 1, p80_days=8)
    assert StageDwellStat.objects.get(team=personas.team_a, stage=stage("prospect")).sample_size == 29
    deal = age(make_opportunity(personas.rep, stage_code="prospect"), 9)
    status = stall_status(deal, deal.stage, timezone.now())
    assert (status.stalled, status.threshold_days, status.basis) == (False, 14, StallBasis.STAGE)
    assert list(opportunity_list(personas.admin, stalled=True)) == []


def test_the_smaller_threshold_applies_when_both_exist(personas):
    team_history(personas, 40, p80_days=20)  # slower than the stage's 14 days
    deal = age(make_opportunity(personas.rep, stage_code="prospect"), 15)
    status = stall_status(deal, deal.stage, timezone.now())
    assert (status.stalled, status.threshold_days, status.basis, status.team_p80_days, status.sample_size) == (
        True,
        14,
        StallBasis.STAGE,
        20,
        40,
    )


def test_stage_without_threshold_uses_the_team_p80(personas):
    Stage.objects.filter(pk=stage("prospect").pk).update(rotting_days=None)
    deal = age(make_opportunity(personas.rep, stage_code="prospect"), 100)
    assert stall_status(deal, deal.stage, timezone.now()).stalled is False
    team_history(personas, 30, p80_days=5)
    deal = Opportunity.objects.select_related("owner", "stage").get(pk=deal.pk)
    status = stall_status(deal, deal.stage, timezone.now())
    assert (status.stalled, status.basis, status.threshold_days) == (True, StallBasis.TEAM_P80, 5)


def test_closed_deals_never_stall(personas):
    deal = age(make_opportunity(personas.rep, stage_code="prospect"), 40)
    Opportunity.objects.filter(pk=deal.pk).update(outcome=Outcome.PAUSED)
    deal.refresh_from_db()
    assert stall_status(deal, deal.stage, timezone.now()).stalled is False
    assert list(opportunity_list(personas.admin, stalled=True)) == []


# ------------------------------------------------------------------------ statistic


def test_percentile_matches_an_independent_computation(personas):
    rng = random.Random(7)
    anchor = make_opportunity(personas.rep, stage_code="negotiation")
    samples: dict[tuple[int | None, str], list[int]] = {}
    for team_id in (personas.team_a.pk, personas.team_b.pk, None):
        for code in ("prospect", "qualification", "demo"):
            n = rng.randint(1, 80)
            durations = [rng.randint(60, 90 * DAY) for _ in range(n)]
            exits(anchor, code, team_id, durations)
            samples[(team_id, code)] = durations
    exits(anchor, "prospect", personas.team_a.pk, [999 * DAY] * 50, days_ago=400)  # outside the window
    StageChange.objects.create(opportunity=anchor, to_stage=stage("prospect"))  # creation: no from stage

    assert stage_dwell_stats_compute(actor=system_actor()) == len(samples)
    got = {
        (s.team_id, s.stage.code): (s.p80_seconds, s.sample_size)
        for s in StageDwellStat.objects.select_related("stage")
    }
    expected = {key: (sorted(v)[math.ceil(0.8 * len(v)) - 1], len(v)) for key, v in samples.items()}
    assert got == expected
    # idempotent: the same history gives the same rows
    stage_dwell_stats_compute(actor=system_actor())
    assert {
        (s.team_id, s.stage.code): (s.p80_seconds, s.sample_size)
        for s in StageDwellStat.objects.select_related("stage")
    } == expected


def test_statistic_is_for_the_system_or_administrators(personas):
    with pytest.raises(Forbidden):
        stage_dwell_stats_compute(actor=personas.manager)
    with pytest.raises(Forbidden):
        opportunities_escalate_stalled(actor=personas.rep)
    stage_dwell_stats_compute(actor=personas.admin)


def test_rules_are_one_query(personas, django_assert_num_queries):
    team_history(personas, 30)
    with django_assert_num_queries(1):
        rules = stall_rules()
    assert rules.team_p80 == {(personas.team_a.pk, stage("prospect").pk): (8, 30)}


# ------------------------------------------------------------------------- escalation


def notices(opp: Opportunity) -> list[tuple[str, int | None, bool]]:
    """(step, recipient, skipped) of the deal's notices."""
    return sorted(
        (n.step.notify, n.recipient_id, n.skipped)
        for n in StallNotice.objects.filter(opportunity=opp).select_related("step")
    )


def test_ladder_is_seeded():
    assert list(StallEscalationStep.objects.values_list("after_days_stalled", "notify", "is_active")) == [
        (0, "owner", True),
        (5, "manager", True),
    ]


def test_job_twice_writes_one_notice_per_step_and_escalates_after_n_days(personas):
    system = system_actor()
    fresh = age(make_opportunity(personas.rep, stage_code="prospect"), 10)  # not stalled
    day0 = age(make_opportunity(personas.rep, stage_code="prospect"), 15)  # 1 day past 14
    late = age(make_opportunity(personas.rep, stage_code="prospect"), 20)  # 6 days past: at the manager step
    assert opportunities_escalate_stalled(actor=system) == 2
    assert opportunities_escalate_stalled(actor=system) == 0  # the second run the same day
    assert notices(fresh) == []
    assert notices(day0) == [("owner", personas.rep.pk, False)]
    # first seen past both steps: only the current one is taken; the owner step is skipped
    assert notices(late) == [("manager", personas.manager.pk, False), ("owner", personas.rep.pk, True)]
    events = AuditEvent.objects.filter(verb__startswith="sales.opportunity.stall")
    assert sorted(events.values_list("verb", "target_id")) == sorted(
        [
            ("sales.opportunity.stalled", day0.pk),
            ("sales.opportunity.stall_escalated", late.pk),
        ]
    )
    assert not AuditEvent.objects.filter(verb="sales.stall.digest").exists()
    data = events.get(verb="sales.opportunity.stall_escalated").data
    assert (data["recipient"], data["basis"], data["threshold_days"], data["days_stalled"]) == (
        personas.manager.pk,
        "stage",
        14,
        6,
    )
    # five days later: the first deal reaches the manager step and the fresh one stalls, once each
    later = timezone.now() + timedelta(days=5)
    assert opportunities_escalate_stalled(actor=system, now=later) == 2
    assert opportunities_escalate_stalled(actor=system, now=later) == 0
    assert notices(day0) == [("manager", personas.manager.pk, False), ("owner", personas.rep.pk, False)]
    assert notices(fresh) == [("owner", personas.rep.pk, False)]


def test_a_stage_move_starts_a_new_episode(personas):
    system = system_actor()
    deal = age(make_opportunity(personas.rep, stage_code="prospect"), 15)
    assert opportunities_escalate_stalled(actor=system) == 1
    opportunity_move_stage(actor=personas.rep, opportunity=deal, stage=stage("qualification"))
    assert opportunities_escalate_stalled(actor=system) == 0  # just moved: not stalled
    threshold = stage("qualification").rotting_days
    assert threshold is not None
    age(deal, threshold + 1)
    assert opportunities_escalate_stalled(actor=system) == 1
    assert StallNotice.objects.filter(opportunity=deal).values("stage_entered_at").distinct().count() == 2


def test_batches_cover_every_stalled_deal(personas):
    deals = [age(make_opportunity(personas.rep, stage_code="prospect"), 15) for _ in range(5)]
    assert opportunities_escalate_stalled(actor=system_actor(), batch_size=2) == 5
    assert StallNotice.objects.filter(opportunity__in=deals).count() == 5


def test_inactive_steps_and_manager_of_manager(personas):
    StallEscalationStep.objects.create(after_days_stalled=1, notify="manager_of_manager", position=3)
    StallEscalationStep.objects.filter(notify="owner").update(is_active=False)
    deal = age(make_opportunity(personas.outsider, stage_code="prospect"), 30)  # team_b: one manager, no parent
    opportunities_escalate_stalled(actor=system_actor())
    # reached: +1 (manager's manager) and +5 (manager); the furthest is taken, the other skipped
    assert notices(deal) == [("manager", personas.other_manager.pk, False), ("manager_of_manager", None, True)]


def test_catch_up_after_a_gap_takes_only_the_furthest_steps(personas):
    """A ladder of three steps (+0 owner, +5 manager, +9 manager's manager). A deal taken at
    the owner step, then not seen for ten days, gets the +9 step only; +5 is skipped. Two
    steps at the same offset are both current."""
    system = system_actor()
    StallEscalationStep.objects.create(after_days_stalled=9, notify="manager_of_manager", position=3)
    deal = age(make_opportunity(personas.rep, stage_code="prospect"), 15)  # 1 day past 14
    assert opportunities_escalate_stalled(actor=system) == 1
    later = timezone.now() + timedelta(days=10)  # 11 days past: +5 and +9 reached
    assert opportunities_escalate_stalled(actor=system, now=later) == 1
    assert opportunities_escalate_stalled(actor=system, now=later) == 0
    assert notices(deal) == [
        ("manager", personas.manager.pk, True),
        ("manager_of_manager", None, False),  # nobody above the department's manager
        ("owner", personas.rep.pk, False),
    ]
    assert AuditEvent.objects.filter(verb="sales.opportunity.stall_escalated", target_id=deal.pk).count() == 1
    # same offset: an owner step at +9 beside the manager's manager — both current
    other = age(make_opportunity(personas.rep, stage_code="prospect"), 25)  # 11 days past
    StallEscalationStep.objects.create(after_days_stalled=9, notify="owner", position=4)
    assert opportunities_escalate_stalled(actor=system) == 2
    assert [(n, skipped) for n, _r, skipped in notices(other)] == [
        ("manager", True),
        ("manager_of_manager", False),
        ("owner", False),
        ("owner", True),
    ]


# ------------------------------------------------------------------------ stuck matrix


def world(personas):
    """Open deals of rep, teammate and outsider in several stages, ages and currencies."""
    rng = random.Random(3)
    deals = []
    for owner in (personas.rep, personas.teammate, personas.outsider):
        for code in ("prospect", "prospect", "qualification", "demo", "demo", "demo", "demo"):
            opp = make_opportunity(owner, stage_code=code, amount=Decimal(rng.randint(1, 900000)) / 100)
            deals.append(age(opp, rng.randint(0, 40) + 0.5))
    make_opportunity(personas.rep, stage_code="prospect", currency="USD", amount="100")  # no USD rate: left out
    won = make_opportunity(personas.rep, stage_code="demo")
    Opportunity.objects.filter(pk=won.pk).update(outcome=Outcome.WON)  # not open: not counted
    stuck_buckets_rebuild()  # the raw write above bypassed the services
    return deals


def python_matrix(user_ids, now):
    """The same cells from a plain loop over the rows."""
    cells: dict[tuple[int, str], dict[str, Any]] = {}
    rules = stall_rules()
    for opp in Opportunity.objects.filter(outcome=Outcome.OPEN, pipeline=default_pipeline()).select_related(
        "owner", "stage"
    ):
        if opp.owner_id not in user_ids:
            continue
        cell = cells.setdefault(
            (opp.owner_id, opp.stage.code),
            {"count": 0, "amount": Decimal(0), "days": [], "stalled": 0, "unconverted": 0},
        )
        cell["count"] += 1
        days = (now - opp.stage_entered_at).days
        cell["days"].append(days)
        cell["stalled"] += rules.status(opp, opp.stage, now, opp.owner.team_id).stalled
        if opp.currency == "CNY":
            cell["amount"] += opp.amount
        else:
            cell["unconverted"] += 1
    return {
        key: (
            c["count"],
            c["amount"],
            Decimal(statistics.median(c["days"])),
            max(c["days"]),
            c["stalled"],
            c["unconverted"],
        )
        for key, c in cells.items()
    }


def matrix_cells(m):
    return {
        (row.owner.pk, cell.stage.code): (
            cell.count,
            cell.amount,
            cell.median_days,
            cell.worst_days,
            cell.stalled,
            cell.unconverted,
        )
        for row in m.rows
        for cell in row.cells
        if cell.count
    }


def test_matrix_matches_a_python_loop(personas):
    world(personas)
    team_history(personas, 30, p80_days=6)  # some cells stall by the team's percentile
    now = timezone.now()
    m = stuck_matrix(personas.admin, pipeline=default_pipeline(), now=now)
    ids = {personas.rep.pk, personas.teammate.pk, personas.outsider.pk}
    assert matrix_cells(m) == python_matrix(ids, now)
    assert [s.code for s in m.stages] == ["prospect", "qualification", "needs", "demo", "proposal", "negotiation"]
    assert m.unconverted == {"USD": 1}
    assert sum(c.stalled for row in m.rows for c in row.cells) > 0


@pytest.mark.parametrize("persona", ["rep", "manager", "other_manager", "admin"])
def test_matrix_rows_follow_the_scope(personas, persona):
    world(personas)
    user = getattr(personas, persona)
    everyone = stuck_matrix(user, pipeline=default_pipeline(), include_empty=True)
    expected = {
        "rep": {"rep"},
        "manager": {"manager", "rep", "teammate", "assistant"},
        "other_manager": {"other_manager", "outsider"},
        "admin": {"admin", "manager", "rep", "teammate", "assistant", "outsider", "other_manager"},
    }[persona]
    assert {row.owner.username for row in everyone.rows} == expected
    assert (everyone.hidden, everyone.include_empty) == (0, True)
    # by default only the people with open deals in the pipeline (rep, teammate, outsider)
    m = stuck_matrix(user, pipeline=default_pipeline())
    with_deals = {
        "rep": ["rep"],
        "manager": ["rep", "teammate"],
        "other_manager": ["outsider"],
        "admin": ["outsider", "rep", "teammate"],
    }[persona]
    assert sorted(row.owner.username for row in m.rows) == with_deals
    assert m.hidden == len(expected) - len(with_deals)
    assert m.hidden == {"rep": 0, "manager": 2, "other_manager": 1, "admin": 4}[persona]
    assert all(row.count for row in m.rows)


def test_matrix_hides_people_whose_deals_are_elsewhere(personas):
    """Deals in another pipeline, closed deals or no deals at all: hidden; one open deal
    in the pipeline (even without an exchange rate): shown."""
    other = make_pipeline()
    make_opportunity(personas.teammate, pipeline=other)  # another pipeline
    closed = make_opportunity(personas.assistant, stage_code="demo")
    Opportunity.objects.filter(pk=closed.pk).update(outcome=Outcome.LOST)
    stuck_buckets_rebuild()  # the raw write above bypassed the services
    make_opportunity(personas.rep, stage_code="demo", currency="USD")  # counted, value left out
    m = stuck_matrix(personas.manager, pipeline=default_pipeline())
    assert ([row.owner.username for row in m.rows], m.hidden) == (["rep"], 3)
    m = stuck_matrix(personas.manager, pipeline=other)
    assert ([row.owner.username for row in m.rows], m.hidden) == (["teammate"], 3)


def test_matrix_query_count_is_constant(personas, django_assert_max_num_queries):
    world(personas)
    team_history(personas, 30)
    user = personas.manager
    # 14: the aggregate is read from the maintained buckets (totals, the stall window, the
    # median's buckets and the middle deals: four queries where the whole scan took two)
    with django_assert_max_num_queries(14) as ctx:
        stuck_matrix(user, pipeline=default_pipeline())
    baseline = len(ctx.captured_queries)
    for owner in (personas.rep, personas.teammate):
        for _ in range(5):
            age(make_opportunity(owner, stage_code="needs", currency="EUR"), 30)
    user = type(user).objects.get(pk=user.pk)  # a fresh request: no cached scope
    with django_assert_max_num_queries(baseline):
        stuck_matrix(user, pipeline=default_pipeline())


def test_detail_and_board_carry_the_basis(personas):
    team_history(personas, 30, p80_days=8)
    deal = age(make_opportunity(personas.rep, stage_code="prospect"), 9)
    detail = opportunity_detail(deal)
    assert detail.stall is not None and (detail.stalled, detail.stall.basis, detail.stall.sample_size) == (
        True,
        StallBasis.TEAM_P80,
        30,
    )
    card = next(
        card
        for col in board(personas.rep, pipeline=default_pipeline()).columns
        for card in col.cards
        if card.opportunity.pk == deal.pk
    )
    assert card.stall is not None and card.stall.basis == StallBasis.TEAM_P80


@pytest.mark.parametrize("persona", ["rep", "manager", "admin"])
def test_board_stalled_counts_match_a_python_loop(personas, persona):
    """The board's stalled count per column (the rule's per-row SQL form) equals the rule
    applied deal by deal in Python, for each persona's visible deals: stage thresholds, a
    team percentile below the stage's, fresh and old deals, several owners and stages."""
    from salesflow.sales.permissions import opportunities_visible_to

    team_history(personas, STALL_MIN_EXITS, p80_days=8)  # team_a's "prospect" stalls after 8 days
    rng = random.Random(7)
    codes = ["prospect", "qualification", "needs", "demo"]
    for owner in (personas.rep, personas.teammate, personas.outsider, personas.manager):
        for code in codes:
            for days in (1, 9, 12, 40):
                age(make_opportunity(owner, stage_code=code), days + rng.random() / 2)
    user = getattr(personas, persona)
    now = timezone.now()
    result = board(user, pipeline=default_pipeline(), now=now)
    rules = stall_rules()
    expected: dict[int, int] = {}
    visible = opportunities_visible_to(user).filter(pipeline=default_pipeline(), outcome=Outcome.OPEN)
    for opp in visible.select_related("owner", "stage"):
        stalled = rules.status(opp, opp.stage, now, opp.owner.team_id).stalled
        expected[opp.stage_id] = expected.get(opp.stage_id, 0) + int(stalled)
    actual = {c.stage.pk: c.stalled_count for c in result.columns if c.count}
    assert actual == {pk: expected.get(pk, 0) for pk in actual}
    assert sum(expected.values()) == sum(actual.values()) > 0
