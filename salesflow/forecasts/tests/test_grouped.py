"""The grouped waterfall and accuracy (issue 11: the administrator's pages at bench scale)
give the same figures as the per-deal and per-owner-day computation they replaced
(``reference.py``), for the rep, the manager's department and the whole company, before and
after changes made after a first reading: amount changes, close-date slips, stage moves, won
and lost deals, reassignments, team moves inside a past month, and deals in a currency with
a rate and in one without."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from salesflow.analytics.selectors import Node, node_owner_ids_now
from salesflow.core.models import ExchangeRate
from salesflow.core.periods import Period, period_containing
from salesflow.forecasts.selectors import accuracy, day_start, past_periods, waterfall
from salesflow.forecasts.tests.reference import accuracy_per_day, waterfall_per_deal
from salesflow.sales.choices import Outcome
from salesflow.sales.models import LostReason, Opportunity, OpportunityFieldChange
from salesflow.sales.services import (
    opportunity_close,
    opportunity_move_stage,
    opportunity_reopen,
    opportunity_update,
)
from salesflow.sales.tests.factories import make_opportunity, stage
from salesflow.users.models import TeamMembership
from salesflow.users.services import user_change_team

pytestmark = pytest.mark.django_db


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), ZoneInfo(settings.TIME_ZONE))


def _at(moment: datetime, action: Callable[[], Any]) -> Any:
    """Run a service, then date every field-history row it wrote at ``moment``."""
    last = OpportunityFieldChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
    result = action()
    OpportunityFieldChange.objects.filter(id__gt=last).update(changed_at=moment)
    return result


def _nodes(p: Any) -> dict[str, Node]:
    """The rep, the manager's department and the administrator's company."""
    return {
        "rep": Node("rep", p.rep.pk, str(p.rep)),
        "manager": Node("team", p.department.pk, p.department.name),
        "admin": Node("company"),
    }


def _assert_same(p: Any, today: date) -> dict[str, Any]:
    """Every scope, both period kinds, two "since" days: the grouped selectors equal the
    reference. Returns the figures (to show that the changes moved them)."""
    seen: dict[str, Any] = {}
    for persona, node in _nodes(p).items():
        owners = node_owner_ids_now(node)
        for kind in ("month", "quarter"):
            period = period_containing(kind, today)  # type: ignore[arg-type]
            following = period_containing(kind, period.end + timedelta(days=1))  # type: ignore[arg-type]
            for target in (period, following):
                for days in (7, 30):
                    since = day_start(today - timedelta(days=days))
                    got = waterfall(owners, target, since, today)
                    want = waterfall_per_deal(owners, target, since, today)
                    assert got == want, (persona, target.key, days)
                    assert got.start + sum(got.bars.values()) == got.end
                    seen[f"wf {persona} {target.key} {days}"] = (got.start, got.end, got.bars, got.missing_rates)
            periods = past_periods(kind, today, 6 if kind == "month" else 2)
            got_acc = accuracy(node, periods)
            want_acc = accuracy_per_day(node, periods)
            assert got_acc == want_acc, (persona, kind)
            seen[f"acc {persona} {kind}"] = [[c.actual for c in r.cells] for r in got_acc.rows]
    return seen


def _setup_rates(today: date) -> None:
    # USD has a rate (changing inside the past months: each won deal at its close day's
    # rate); EUR has none (left out and named)
    ExchangeRate.objects.create(currency="USD", rate=Decimal("7.12345678"), valid_from=today - timedelta(days=400))
    ExchangeRate.objects.create(currency="USD", rate=Decimal("7.30000001"), valid_from=today - timedelta(days=75))


def _memberships(p: Any) -> None:
    for user in (p.rep, p.teammate, p.outsider, p.manager, p.other_manager):
        TeamMembership.objects.create(user=user, team_id=user.team_id, start=date(2000, 1, 1))


def test_grouped_equals_reference_after_each_kind_of_change(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    _memberships(p)
    now = timezone.now()
    today = timezone.localdate()
    _setup_rates(today)
    month = period_containing("month", today)
    next_month = period_containing("month", month.end + timedelta(days=1))
    before = now - timedelta(days=40)
    last_month = period_containing("month", month.start - timedelta(days=1))
    two_ago = period_containing("month", last_month.start - timedelta(days=1))

    def deal(owner: Any, amount: str, close: date, currency: str = "CNY", code: str = "needs") -> Opportunity:
        return make_opportunity(
            owner, amount=amount, expected_close_date=close, created_at=before, currency=currency, stage_code=code
        )

    def won(owner: Any, amount: str, day: date, currency: str = "CNY") -> Opportunity:
        opp = make_opportunity(
            owner, amount=amount, expected_close_date=day, created_at=_noon(day - timedelta(days=3)), currency=currency
        )
        return opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.WON, closed_on=day)

    # open pipeline: equal amounts (grouped together), another currency, one without a rate
    a = deal(p.rep, "1000.00", month.end)
    b = deal(p.rep, "1000.00", month.end)
    c = deal(p.teammate, "2500.50", month.start)
    d = deal(p.rep, "300.25", month.end, currency="USD")
    e = deal(p.teammate, "300.25", month.end, currency="USD")
    deal(p.outsider, "999.00", month.end, currency="EUR")  # no rate: left out, named
    f = deal(p.outsider, "4000.00", next_month.start)
    g = deal(p.manager, "700.00", month.end)
    h = deal(p.outsider, "1200.00", month.end)
    # won revenue of the past months (accuracy)
    w1 = won(p.rep, "5000.00", last_month.start + timedelta(days=3))
    won(p.teammate, "6000.00", last_month.start + timedelta(days=10))
    won(p.teammate, "100.00", two_ago.start + timedelta(days=2), currency="USD")
    won(p.outsider, "800.00", two_ago.end, currency="EUR")
    w2 = won(p.outsider, "2000.00", last_month.end)
    first = _assert_same(p, today)

    # changes after the first reading, at several moments of the last week
    t1, t2 = now - timedelta(days=3), now - timedelta(hours=2)
    _at(t1, lambda: opportunity_update(actor=p.rep, opportunity=a, amount="1750.00"))  # amount up
    _at(t1, lambda: opportunity_update(actor=p.teammate, opportunity=c, amount="2000.00"))  # amount down
    _at(t1, lambda: opportunity_update(actor=p.rep, opportunity=b, expected_close_date=next_month.end))  # slip
    _at(t1, lambda: opportunity_update(actor=p.outsider, opportunity=f, expected_close_date=month.end))  # pulled in
    _at(t1, lambda: opportunity_move_stage(actor=p.rep, opportunity=d, stage=stage("demo")))  # stage move
    _at(t2, lambda: opportunity_close(actor=p.teammate, opportunity=e, outcome=Outcome.WON, closed_on=today))
    reason = LostReason.objects.filter(is_active=True).first()
    _at(
        t2,
        lambda: opportunity_close(
            actor=p.manager, opportunity=g, outcome=Outcome.LOST, lost_reason=reason, closed_on=today
        ),
    )
    _at(t2, lambda: opportunity_update(actor=p.admin, opportunity=h, owner=p.rep))  # reassigned into the rep
    _at(t2, lambda: opportunity_update(actor=p.admin, opportunity=w2, owner=p.teammate))  # a won deal reassigned
    _at(t2, lambda: opportunity_update(actor=p.rep, opportunity=w1, amount="5500.00"))  # a won amount corrected
    make_opportunity(p.rep, amount="1000.00", expected_close_date=month.end, stage_code="needs")  # new now
    # the teammate moved to the other team in the middle of last month: the department's
    # actuals keep the days before the move only
    user_change_team(actor=p.admin, user=p.teammate, team=p.team_b, effective=last_month.start + timedelta(days=7))
    second = _assert_same(p, today)

    changed = [k for k in first if first[k] != second[k]]
    assert any(k.startswith("wf rep") for k in changed)
    assert any(k.startswith("wf admin") for k in changed)
    assert "acc manager month" in changed and "acc admin month" in changed and "acc rep month" in changed
    w = waterfall(None, month, day_start(today - timedelta(days=7)), today)
    assert w.missing_rates == {"EUR"}
    assert {k for k, v in w.bars.items() if v} == {
        "new",
        "moved_in",
        "increased",
        "won",
        "lost",
        "moved_out",
        "decreased",
    }


def _random_history(p: Any, rng: random.Random, today: date, now: datetime) -> None:
    month = period_containing("month", today)
    next_month = period_containing("month", month.end + timedelta(days=1))
    closes = [month.start, month.end, next_month.end, month.start - timedelta(days=3), next_month.start]
    owners = [p.rep, p.teammate, p.outsider, p.manager]
    currencies = ["CNY", "CNY", "CNY", "USD", "EUR"]
    reason = LostReason.objects.filter(is_active=True).first()
    deals: list[Opportunity] = []
    moment = now - timedelta(days=20)
    for _step in range(70):
        moment += timedelta(minutes=rng.randint(60, 500))
        if moment >= now:
            break
        t = moment
        open_deals = [o for o in deals if o.outcome == Outcome.OPEN]
        ops = ["create", "amount", "close_date", "win", "lose", "reopen", "reassign", "stage"]
        op = rng.choice(ops if deals else ["create"])
        o = rng.choice(open_deals) if open_deals else None
        if op == "create":
            deals.append(
                make_opportunity(
                    rng.choice(owners),
                    amount=f"{rng.choice([100, 250, 250, 1000]) * rng.randint(1, 3)}.{rng.choice(['00', '50'])}",
                    expected_close_date=rng.choice(closes),
                    created_at=t,
                    currency=rng.choice(currencies),
                    stage_code="needs",
                )
            )
        elif op == "amount" and o is not None:
            amount = f"{rng.randint(1, 40) * 50}.00"
            _at(t, partial(opportunity_update, actor=p.admin, opportunity=o, amount=amount))
        elif op == "close_date" and o is not None:
            close = rng.choice(closes)
            _at(t, partial(opportunity_update, actor=p.admin, opportunity=o, expected_close_date=close))
        elif op == "win" and o is not None:
            _at(t, partial(opportunity_close, actor=p.admin, opportunity=o, outcome=Outcome.WON, closed_on=today))
        elif op == "lose" and o is not None:
            _at(
                t,
                partial(
                    opportunity_close,
                    actor=p.admin,
                    opportunity=o,
                    outcome=Outcome.LOST,
                    lost_reason=reason,
                    closed_on=today,
                ),
            )
        elif op == "reopen":
            closed = [x for x in deals if x.outcome != Outcome.OPEN]
            if closed:
                x = rng.choice(closed)
                _at(t, partial(opportunity_reopen, actor=p.admin, opportunity=x))
        elif op == "reassign" and deals:
            x = rng.choice(deals)
            new_owner = rng.choice(owners)
            _at(t, partial(opportunity_update, actor=p.admin, opportunity=x, owner=new_owner))
        elif op == "stage" and o is not None and o.stage.code == "needs":
            _at(t, partial(opportunity_move_stage, actor=p.admin, opportunity=o, stage=stage("demo")))
        deals = list(Opportunity.objects.filter(pk__in=[x.pk for x in deals]).select_related("stage").order_by("pk"))


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_grouped_equals_reference_on_random_histories(personas, seed: int) -> None:  # type: ignore[no-untyped-def]
    p = personas
    _memberships(p)
    rng = random.Random(seed)
    now = timezone.now()
    today = timezone.localdate()
    _setup_rates(today)
    # won deals spread over the past months (accuracy), some in USD and EUR
    last_month = period_containing("month", today).start - timedelta(days=1)
    for _i in range(25):
        day = last_month - timedelta(days=rng.randint(0, 170))
        owner = rng.choice([p.rep, p.teammate, p.outsider, p.manager])
        opp = make_opportunity(
            owner,
            amount=f"{rng.randint(1, 30) * 100}.{rng.choice(['00', '25'])}",
            expected_close_date=day,
            created_at=_noon(day - timedelta(days=5)),
            currency=rng.choice(["CNY", "CNY", "USD", "EUR"]),
        )
        opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.WON, closed_on=day)
    _assert_same(p, today)
    _random_history(p, rng, today, now)
    if seed % 2:
        user_change_team(
            actor=p.admin, user=p.rep, team=p.team_b, effective=last_month - timedelta(days=rng.randint(5, 60))
        )
    _assert_same(p, today)


def test_waterfall_query_count_does_not_grow_with_deals(personas, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    p = personas
    today = timezone.localdate()
    month: Period = period_containing("month", today)
    for i in range(30):
        make_opportunity(
            p.rep, amount=f"{100 + i}.00", expected_close_date=month.end, created_at=timezone.now() - timedelta(days=9)
        )
    since = day_start(today - timedelta(days=7))
    with django_assert_max_num_queries(4):
        w = waterfall(None, month, since, today)
    assert w.start_count == w.end_count == 30 and not w.moves
