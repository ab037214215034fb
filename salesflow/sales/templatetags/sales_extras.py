"""Template helpers of the opportunity pages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django import template
from django.urls import get_script_prefix, reverse

register = template.Library()

_PLACEHOLDER = 987654321
_CARD_URLS = {"detail": "opportunities:detail", "move": "opportunities:move", "close": "opportunities:close"}


@lru_cache(maxsize=16)
def _url_pattern(which: str, script_prefix: str) -> str:
    return reverse(_CARD_URLS[which], args=[_PLACEHOLDER])


@register.filter
def opportunity_url(pk: int, which: str) -> str:
    """``{{ opp.pk|opportunity_url:"move" }}`` — the same URL as ``{% url %}``, reversed once
    per name and reused: the board renders hundreds of cards with three links each, and
    reversing every one of them was the largest part of the board's server time."""
    return _url_pattern(which, get_script_prefix()).replace(str(_PLACEHOLDER), str(int(pk)))


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
