"""Helpers of the commission tests: rows made directly, and the independent computation —
a plain loop over every deal and payment, written without the app's selectors."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from salesflow.billing.models import Payment
from salesflow.catalogue.models import OpportunityLine
from salesflow.commissions.models import CommissionPlan, CommissionRule, CommissionTier
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.models import User

CENT = Decimal("0.01")
_seq = itertools.count(1)


def won(owner: User, amount: str, day: date, currency: str = "CNY") -> Opportunity:
    opp = make_opportunity(owner, amount=amount, currency=currency)
    return opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.WON, closed_on=day)


def pay(owner: User, amount: str, day: date, currency: str = "CNY", status: str = "recorded") -> Payment:
    opp = make_opportunity(owner)
    return Payment.objects.create(
        number=f"HK-T-{next(_seq):05d}",
        account=opp.account,
        owner=owner,
        opportunity=opp,
        currency=currency,
        amount=Decimal(amount),
        received_on=day,
        status=status,
    )


def line(opp: Opportunity, product: Any, total: str) -> OpportunityLine:
    return OpportunityLine.objects.create(opportunity=opp, product=product, name_zh="产品", total=Decimal(total))


def plan(year: int, **kw: Any) -> CommissionPlan:
    return CommissionPlan.objects.create(
        name=kw.pop("name", f"{year} 提成方案"), valid_from=date(year, 1, 1), valid_to=date(year, 12, 31), **kw
    )


def rule(
    p: CommissionPlan, basis: str, rate: str, tiers: tuple[tuple[int, int], ...] = (), **kw: Any
) -> CommissionRule:
    r = CommissionRule.objects.create(
        plan=p, name=kw.pop("name", f"rule {next(_seq)}"), basis=basis, rate=Decimal(rate), **kw
    )
    for threshold_bp, multiplier_milli in tiers:
        CommissionTier.objects.create(rule=r, threshold_bp=threshold_bp, multiplier_milli=multiplier_milli)
    return r


def to_cny(amount: Decimal, currency: str, day: date, rates: dict[str, list[tuple[date, Decimal]]]) -> Decimal | None:
    if currency == "CNY":
        return amount
    valid = [r for d, r in sorted(rates.get(currency, [])) if d <= day]
    return (amount * valid[-1]).quantize(CENT, rounding=ROUND_HALF_UP) if valid else None


def loop_commission(
    items: list[tuple[Decimal, Decimal]],
    rate: Decimal,
    tiers: list[tuple[Decimal, Decimal]],
    target: Decimal | None,
) -> list[tuple[Decimal, Decimal, Decimal]]:
    """Marginal brackets by hand. ``items``: (amount on the attainment axis, basis) in order;
    ``tiers``: (threshold %, multiplier). Returns (basis part, multiplier, commission) rows."""
    edges: list[tuple[Decimal, Decimal]] = [(Decimal(0), Decimal(1))]
    if target:
        edges += [(target * t / 100, m) for t, m in sorted(tiers)]
    out = []
    position = Decimal(0)
    for amount, basis in items:
        pieces = []
        for i, (start, mult) in enumerate(edges):
            stop = edges[i + 1][0] if i + 1 < len(edges) else None
            lo = max(position, start)
            hi = position + amount if stop is None else min(position + amount, stop)
            if hi > lo:
                pieces.append((hi - lo, mult))
        if not pieces:
            pieces = [(Decimal(0), [m for s, m in edges if s <= position][-1])]
        given = Decimal(0)
        for j, (piece, mult) in enumerate(pieces):
            if j == len(pieces) - 1:
                part = basis - given
            else:
                part = (basis * piece / amount).quantize(CENT, rounding=ROUND_HALF_UP)
                given += part
            out.append((part, mult, (part * rate / 100 * mult).quantize(CENT, rounding=ROUND_HALF_UP)))
        position += amount
    return out


def won_items(
    rep: User, start: date, end: date, rates: dict[str, list[tuple[date, Decimal]]]
) -> list[tuple[Decimal, Decimal]]:
    """Every won deal of ``rep`` closed in [start, end], by (close day, id), in CNY."""
    rows = []
    for opp in Opportunity.objects.all():
        if opp.owner_id != rep.pk or opp.outcome != Outcome.WON or opp.closed_on is None:
            continue
        if not start <= opp.closed_on <= end:
            continue
        cny = to_cny(opp.amount, opp.currency, opp.closed_on, rates)
        if cny is not None:
            rows.append((opp.closed_on, opp.pk, cny))
    return [(a, a) for _d, _pk, a in sorted(rows)]
