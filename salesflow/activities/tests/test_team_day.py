"""The team sections of My day read the team's rows as one owner-index range per section:
the lists equal an independent computation over every row of the team (sorted and cut in Python), the counts are exact, and the number of queries does not
grow with the number of reps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesflow.activities import selectors
from salesflow.activities.models import Activity
from salesflow.activities.selectors import day_bounds, month_bounds, my_day, stalled_q
from salesflow.activities.tests.factories import local_dt, make_account, make_activity, make_opportunity
from salesflow.parties.models import Account
from salesflow.sales.models import Opportunity, Stage
from salesflow.users.choices import Role
from salesflow.users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_completion_rules")]

LIMIT = 3


def _rep(personas, n: int) -> User:
    user = User(username=f"rep-extra-{n}", role=Role.REP, team=personas.team_a, display_name=f"销售 {n}")
    user.set_unusable_password()
    user.save()
    return user


def _work(owner: User, n: int) -> None:
    """Four of each kind of row for ``owner``, with dates shared across owners (ties broken by id)."""
    today = timezone.localdate()
    now = timezone.now()
    stage = Stage.objects.filter(kind="open").order_by("pipeline_id", "position").first()
    assert stage is not None
    Stage.objects.filter(pk=stage.pk).update(rotting_days=14)
    for i in range(4):
        account = make_account(owner)
        make_activity(owner, kind="task", due_at=local_dt(today - timedelta(days=1 + i % 2)))
        make_activity(owner, kind="task", due_at=local_dt(today + timedelta(days=2)))  # not overdue
        make_activity(owner, kind="call", done=True, done_at=now - timedelta(minutes=i % 2))
        opp = make_opportunity(
            account,
            next_step="",
            next_step_date=None if i % 2 else today + timedelta(days=3),
            expected_close_date=today - timedelta(days=1 + i % 3) if i < 2 else month_bounds(today)[1],
        )
        Opportunity.objects.filter(pk=opp.pk).update(
            stage=stage, stage_entered_at=now - timedelta(days=20 + (i + n) % 3)
        )
        Account.objects.filter(pk=account.pk).update(at_risk_since=now - timedelta(days=1 + i % 2))


def _expected(manager: User, team: set[int]) -> dict[str, tuple[list[int], int]]:
    """Every section computed from all the team's rows, sorted and cut here."""
    today = timezone.localdate()
    start, end = day_bounds(today)
    first, last = month_bounds(today)
    acts = list(Activity.objects.filter(owner_id__in=team))
    deals = list(Opportunity.objects.filter(owner_id__in=team, outcome="open"))
    stalled_ids = set(Opportunity.objects.filter(stalled_q(timezone.now())).values_list("pk", flat=True))
    accounts = list(Account.objects.filter(owner_id__in=team, at_risk_since__isnull=False))

    def cut(rows, key, *, reverse=False):  # type: ignore[no-untyped-def]
        ordered = sorted(rows, key=key, reverse=reverse)
        return [r.pk for r in ordered[:LIMIT]], len(ordered)

    return {
        "overdue": cut([a for a in acts if not a.done and a.due_at and a.due_at < start], lambda a: (a.due_at, a.pk)),
        "done_today": cut(
            [a for a in acts if a.done and a.done_at and start <= a.done_at < end],
            lambda a: (a.done_at, a.pk),
            reverse=True,
        ),
        "stalled": cut([d for d in deals if d.pk in stalled_ids], lambda d: (d.stage_entered_at, d.pk)),
        "no_next_step": cut([d for d in deals if d.next_step_date is None], lambda d: (d.created_at, d.pk)),
        "closing_this_month": cut(
            [d for d in deals if d.expected_close_date and first <= d.expected_close_date <= last],
            lambda d: (d.expected_close_date, d.pk),
        ),
        "past_close": cut(
            [d for d in deals if d.expected_close_date and d.expected_close_date < today],
            lambda d: (d.expected_close_date, d.pk),
        ),
        "at_risk": cut(accounts, lambda a: (a.at_risk_since, a.pk)),
    }


def _actual(manager: User) -> dict[str, tuple[list[int], int]]:
    team = my_day(manager, timezone.localdate(), limit=LIMIT).team
    assert team is not None
    return {
        name: ([row.pk for row in getattr(team, name).items], getattr(team, name).total)
        for name in ("overdue", "done_today", "stalled", "no_next_step", "closing_this_month", "past_close", "at_risk")
    }


def _queries(manager: User) -> int:
    manager = User.objects.get(pk=manager.pk)  # a fresh request's user (no cached scope)
    with CaptureQueriesContext(connection) as ctx:
        my_day(manager, timezone.localdate(), limit=LIMIT)
    return len(ctx.captured_queries)


def test_team_sections_match_an_independent_computation(personas):
    """Each section is exactly the first rows of the whole team, with the exact totals and
    the overdue count per rep."""
    reps = [personas.rep, personas.teammate, _rep(personas, 1)]
    for n, rep in enumerate(reps):
        _work(rep, n)
    make_activity(personas.outsider, kind="task", due_at=local_dt(timezone.localdate() - timedelta(days=5)))
    manager = User.objects.get(pk=personas.manager.pk)
    team = selectors.team_scope_ids(manager)
    assert team is not None and {r.pk for r in reps} <= team
    expected = _expected(manager, team)
    assert _actual(manager) == expected
    assert all(total > LIMIT for _ids, total in expected.values())  # the cut matters in every section
    day = my_day(manager, timezone.localdate(), limit=LIMIT)
    assert day.team is not None
    assert {(r.owner_id, r.count) for r in day.team.overdue_by_rep} == {(r.pk, 4) for r in reps}


def test_team_query_count_does_not_grow_with_the_reps(personas):
    manager = personas.manager
    _work(personas.rep, 0)
    few = _queries(manager)
    for n in range(1, 4):
        _work(_rep(personas, n), n)
    many = _queries(manager)
    assert few == many
    team = my_day(User.objects.get(pk=manager.pk), timezone.localdate(), limit=LIMIT).team
    assert team is not None and team.members == len(selectors.team_scope_ids(manager) or ())
    assert team.overdue.total == 4 * 4 and len(team.overdue.items) == LIMIT
