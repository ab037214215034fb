"""Exact top-down allocation (pure): split an amount into shares by weights so the shares sum
exactly to the amount in minor units (largest remainder, Hamilton's method).

Every share is ``floor(units × w / Σw)`` minor units; the units left over go one each to the
shares with the largest fractional remainders (ties: the earlier share). Weights are
non-negative; when they are all zero (no history) the split is equal. No share is ever
negative and the shares always sum to the amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from salesflow.core.periods import Period, children, fiscal_year_of, year_period

#: minor units: money in hundredths, counts in whole units
MONEY_PLACES = 2
COUNT_PLACES = 0


def split(total: Decimal, weights: Sequence[Decimal | int], places: int) -> list[Decimal]:
    """``total`` split by ``weights`` into ``len(weights)`` exact shares of ``places`` places."""
    if not weights:
        return []
    if total < 0:
        raise ValueError("negative total")
    if any(Decimal(w) < 0 for w in weights):
        raise ValueError("negative weight")
    scale = 10**places
    units = int((total * scale).to_integral_value())
    fractions = [Fraction(Decimal(w)) for w in weights]
    whole = sum(fractions, Fraction(0))
    if whole == 0:
        fractions = [Fraction(1)] * len(weights)
        whole = Fraction(len(weights))
    exact = [units * f / whole for f in fractions]
    floors = [int(x) for x in exact]  # x ≥ 0: int() is floor
    left = units - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(n).scaleb(-places) if places else Decimal(n) for n in floors]


def month_index(year_period: Period, month: Period) -> int:
    """Position (0–11) of ``month`` in the fiscal year ``year_period``."""
    return (month.start.year * 12 + month.start.month) - (year_period.start.year * 12 + year_period.start.month)


def period_weights(period: Period, seasonality: Sequence[int | Decimal] | None) -> list[Decimal]:
    """Weights of ``period``'s children: months by seasonality (quarters sum their months);
    weeks by their days. Without seasonality, months weigh by their days."""
    kids = children(period)
    if period.kind == "month":
        return [Decimal(w.days) for w in kids]
    year = year_period(fiscal_year_of(period.start))
    if not seasonality or len(seasonality) != 12 or not any(Decimal(w) > 0 for w in seasonality):
        if period.kind == "year":
            return [Decimal(q.days) for q in kids]
        return [Decimal(m.days) for m in kids]
    weights = [Decimal(w) for w in seasonality]
    if period.kind == "quarter":
        return [weights[month_index(year, m)] for m in kids]
    return [sum((weights[month_index(year, m)] for m in children(q)), Decimal(0)) for q in kids]
