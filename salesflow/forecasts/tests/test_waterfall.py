"""The pipeline waterfall on constructed histories: every bar as hand-worked, and on random
histories start + changes = end exactly, with the start checked against an independent replay
of the whole field history (the last value at or before the start, not the first change after)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.utils import timezone

from salesflow.core.periods import Period, period_containing
from salesflow.forecasts.selectors import BAR_KEYS, waterfall
from salesflow.sales.choices import HistoryField, Outcome
from salesflow.sales.models import LostReason, Opportunity, OpportunityFieldChange
from salesflow.sales.services import opportunity_close, opportunity_reopen, opportunity_update
from salesflow.sales.tests.factories import make_opportunity

pytestmark = pytest.mark.django_db


def _period(today: date) -> tuple[Period, Period]:
    this = period_containing("month", today)
    return this, period_containing("month", this.end + timedelta(days=1))


def _at(moment: datetime, action: Callable[[], Any]) -> Any:
    """Run a service, then date every history row it wrote at ``moment``."""
    last = OpportunityFieldChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
    result = action()
    OpportunityFieldChange.objects.filter(id__gt=last).update(changed_at=moment)
    return result


def _create(owner: Any, amount: str, close: date, moment: datetime) -> Opportunity:
    return make_opportunity(owner, amount=amount, expected_close_date=close, created_at=moment)


def test_every_bar_on_a_hand_worked_history(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    now = timezone.now()
    today = timezone.localdate()
    period, following = _period(today)
    due, later = period.end, following.end
    before, after = now - timedelta(days=10), now - timedelta(days=1)
    since = now - timedelta(days=7)
    a = _create(p.rep, "1000.00", due, before)
    b = _create(p.rep, "2000.00", due, before)
    c = _create(p.rep, "3000.00", due, before)
    d = _create(p.rep, "4000.00", due, before)
    e = _create(p.rep, "5000.00", due, before)
    f = _create(p.rep, "6000.00", later, before)
    h = _create(p.rep, "800.00", due, before)
    i = _create(p.rep, "900.00", due, before)
    _create(p.teammate, "99999.00", due, before)  # another owner: not in the rep's scope
    _at(after, lambda: opportunity_update(actor=p.rep, opportunity=a, amount="1500.00"))
    _at(after, lambda: opportunity_update(actor=p.rep, opportunity=b, amount="1200.00"))
    _at(after, lambda: opportunity_close(actor=p.rep, opportunity=c, outcome=Outcome.WON, closed_on=today))
    reason = LostReason.objects.filter(is_active=True).first()
    _at(
        after,
        lambda: opportunity_close(
            actor=p.rep, opportunity=d, outcome=Outcome.LOST, lost_reason=reason, closed_on=today
        ),
    )
    _at(after, lambda: opportunity_update(actor=p.rep, opportunity=e, expected_close_date=later))
    _at(after, lambda: opportunity_update(actor=p.rep, opportunity=f, expected_close_date=due))
    g = _create(p.rep, "7000.00", due, after)
    _at(after, lambda: opportunity_update(actor=p.rep, opportunity=i, amount="950.00"))
    _at(after, lambda: opportunity_update(actor=p.rep, opportunity=i, amount="900.00"))  # back: no bar

    w = waterfall({p.rep.pk}, period, since, today)
    assert w.start == Decimal("16700.00") and w.start_count == 7
    assert w.end == Decimal("17400.00") and w.end_count == 6
    assert w.bars == {
        "new": Decimal("7000.00"),
        "moved_in": Decimal("6000.00"),
        "increased": Decimal("500.00"),
        "won": Decimal("-3000.00"),
        "lost": Decimal("-4000.00"),
        "moved_out": Decimal("-5000.00"),
        "decreased": Decimal("-800.00"),
    }
    assert w.start + sum(w.bars.values()) == w.end
    assert {k: [m.opportunity_id for m in w.deals(k)] for k in BAR_KEYS} == {
        "new": [g.pk],
        "moved_in": [f.pk],
        "increased": [a.pk],
        "won": [c.pk],
        "lost": [d.pk],
        "moved_out": [e.pk],
        "decreased": [b.pk],
    }
    assert h.pk not in {m.opportunity_id for m in w.moves}
    # the whole company: the teammate's deal is in both ends, no bar
    everyone = waterfall(None, period, since, today)
    assert everyone.start == w.start + Decimal("99999.00") and everyone.bars == w.bars


def _replay_in_pipeline(period: Period, moment: datetime) -> Decimal:
    """Independent: each deal's state at ``moment`` = the NEW value of its last change of each
    field at or before ``moment`` (a replay of the whole history from creation)."""
    state: dict[int, dict[str, Any]] = {}
    for c in OpportunityFieldChange.objects.filter(changed_at__lte=moment).order_by("changed_at", "id"):
        s = state.setdefault(c.opportunity_id, {})
        if c.field == HistoryField.AMOUNT:
            s["amount"] = c.new_amount
        elif c.field == HistoryField.EXPECTED_CLOSE_DATE:
            s["close"] = c.new_date
        elif c.field == HistoryField.OUTCOME:
            s["outcome"] = c.new_value
    total = Decimal(0)
    for s in state.values():
        close = s.get("close")
        if s.get("outcome") == Outcome.OPEN and close is not None and period.start <= close <= period.end:
            total += s["amount"]
    return total


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_start_plus_changes_equals_end_on_random_histories(personas, seed: int) -> None:  # type: ignore[no-untyped-def]
    p = personas
    rng = random.Random(seed)
    now = timezone.now()
    today = timezone.localdate()
    period, following = _period(today)
    closes = [period.start, period.end, following.end, period.start - timedelta(days=3)]
    since = now - timedelta(days=7)
    reason = LostReason.objects.filter(is_active=True).first()
    deals: list[Opportunity] = []
    moment = now - timedelta(days=20)
    for _step in range(60):
        moment += timedelta(minutes=rng.randint(60, 500))
        if moment >= now:
            break
        t = moment
        open_deals = [o for o in deals if o.outcome == Outcome.OPEN]
        op = rng.choice(["create", "amount", "close_date", "win", "lose", "reopen"] if deals else ["create"])
        if op == "create":
            deals.append(_create(p.rep, f"{rng.randint(1, 500) * 100}.00", rng.choice(closes), t))
        elif op == "amount" and open_deals:
            o = rng.choice(open_deals)
            _at(t, partial(opportunity_update, actor=p.rep, opportunity=o, amount=f"{rng.randint(1, 500) * 100}.50"))
        elif op == "close_date" and open_deals:
            o = rng.choice(open_deals)
            _at(t, partial(opportunity_update, actor=p.rep, opportunity=o, expected_close_date=rng.choice(closes)))
        elif op == "win" and open_deals:
            o = rng.choice(open_deals)
            _at(t, partial(opportunity_close, actor=p.rep, opportunity=o, outcome=Outcome.WON, closed_on=today))
        elif op == "lose" and open_deals:
            o = rng.choice(open_deals)
            _at(
                t,
                partial(
                    opportunity_close,
                    actor=p.rep,
                    opportunity=o,
                    outcome=Outcome.LOST,
                    lost_reason=reason,
                    closed_on=today,
                ),
            )
        elif op == "reopen":
            closed = [o for o in deals if o.outcome != Outcome.OPEN]
            if closed:
                o = rng.choice(closed)
                _at(t, partial(opportunity_reopen, actor=p.rep, opportunity=o))
        deals = list(Opportunity.objects.filter(pk__in=[o.pk for o in deals]).order_by("pk"))
    w = waterfall({p.rep.pk}, period, since, today)
    assert w.start == _replay_in_pipeline(period, since)
    current = sum(
        (
            o.amount
            for o in Opportunity.objects.filter(owner=p.rep, outcome=Outcome.OPEN)
            if o.expected_close_date and period.start <= o.expected_close_date <= period.end
        ),
        Decimal(0),
    )
    assert w.end == current
    assert w.start + sum(w.bars.values()) == w.end
    assert sum(m.value for m in w.moves) == w.end - w.start
