"""Template helpers of the opportunity pages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()


@register.filter
def duration_days(seconds: int | None) -> str:
    """Seconds as days with one decimal (``3.5``); ``—`` when unknown."""
    if seconds is None:
        return "—"
    days = (Decimal(seconds) / Decimal(86400)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return str(days)


@register.filter
def weighted_amount(amount: Decimal | None, probability: int | None) -> Decimal:
    """``amount × probability%`` rounded to cents."""
    value = Decimal(amount or 0) * Decimal(probability or 0) / Decimal(100)
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
