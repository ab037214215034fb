"""Win rates against an independent computation: distinct deals, current outcome only."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from salesflow.objections.models import DealObjection, Objection
from salesflow.objections.selectors import MIN_SAMPLE, WinRate, ranked, win_rates
from salesflow.objections.tests.factories import answers_of, close, log, make_objection
from salesflow.sales.services import opportunity_close, opportunity_reopen
from salesflow.sales.tests.factories import make_opportunity

pytestmark = pytest.mark.django_db


def _expected(answer_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Plain Python over every row: for each answer the set of deals won / lost now."""
    won: dict[int, set[int]] = {}
    lost: dict[int, set[int]] = {}
    for row in DealObjection.objects.select_related("opportunity"):
        if row.answer_id not in answer_ids:
            continue
        outcome = row.opportunity.outcome
        if outcome == "won":
            won.setdefault(row.answer_id, set()).add(row.opportunity_id)
        elif outcome == "lost":
            lost.setdefault(row.answer_id, set()).add(row.opportunity_id)
    return {a: (len(won.get(a, ())), len(lost.get(a, ()))) for a in answer_ids if a in won or a in lost}


def test_win_rates_match_an_independent_computation(personas, django_assert_num_queries) -> None:
    rng = random.Random(7)
    objection = make_objection(personas.manager, answers=3)
    answers = answers_of(objection)
    reps = [personas.rep, personas.teammate]
    deals = []
    for n in range(24):
        owner = reps[n % 2]
        opp = make_opportunity(owner)
        for answer in rng.sample(answers, rng.randint(1, 3)):
            log(owner, opp, answer)
            if rng.random() < 0.3:  # the same answer twice on one deal counts once
                log(owner, opp, answer)
        deals.append((owner, opp))
    for owner, opp in deals:
        fate = rng.choice(["won", "lost", "open", "reopened", "paused"])
        if fate in ("won", "lost"):
            close(owner, opp, fate)
        elif fate == "reopened":  # won, then reopened: no longer counts
            close(owner, opp, "won")
            opportunity_reopen(actor=owner, opportunity=opp)
        elif fate == "paused":  # paused is not closed
            opportunity_close(
                actor=owner, opportunity=opp, outcome="paused", resume_date=date.today() + timedelta(days=30)
            )
    ids = [a.pk for a in answers]
    with django_assert_num_queries(1):
        rates = win_rates(ids)
    expected = _expected(ids)
    assert {a: (r.won, r.lost) for a, r in rates.items()} == expected
    assert any(r.deals for r in rates.values())


def test_one_deal_using_an_answer_twice_counts_once_and_reopening_removes_it(personas) -> None:
    answer = answers_of(make_objection(personas.manager))[0]
    opp = make_opportunity(personas.rep)
    log(personas.rep, opp, answer)
    log(personas.rep, opp, answer)
    lost = make_opportunity(personas.rep)
    log(personas.rep, lost, answer)
    close(personas.rep, opp, "won")
    close(personas.rep, lost, "lost")
    assert win_rates([answer.pk])[answer.pk] == WinRate(won=1, lost=1)
    assert win_rates([answer.pk])[answer.pk].percent == 50
    opportunity_reopen(actor=personas.rep, opportunity=opp)
    assert win_rates([answer.pk])[answer.pk] == WinRate(won=0, lost=1)
    assert win_rates([answer.pk])[answer.pk].percent == 0


def test_ranking_puts_judged_answers_first_by_rate(personas) -> None:
    objection = make_objection(personas.manager, answers=3)
    a, b, c = answers_of(objection)
    rates = {
        a.pk: WinRate(won=1, lost=0),  # 100 % of 1 deal: not enough to judge
        b.pk: WinRate(won=2, lost=3),  # 40 % of 5
        c.pk: WinRate(won=4, lost=2),  # 67 % of 6
    }
    assert MIN_SAMPLE == 5
    order = ranked([a, b, c], rates)
    assert [x.pk for x in order] == [c.pk, b.pk, a.pk]
    assert not order[2].win.enough  # type: ignore[attr-defined]


def test_seeded_library_has_no_rates_before_any_deal() -> None:
    ids = list(Objection.objects.values_list("answers__id", flat=True))
    assert win_rates(ids) == {}
