"""Display filters of the scorecard pages: exact fractions rounded only here."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from django import template

from salesflow.core.templatetags.salesflow import money
from salesflow.scorecards.selectors import Rate, fraction_to_decimal

register = template.Library()


@register.filter
def pct(value: Fraction | Decimal | str | None) -> str:
    """``0.41666…`` → ``41.7%``; ``—`` for none."""
    if value is None or value == "":
        return "—"
    out = fraction_to_decimal(Fraction(value) * 100, 1)
    return f"{out}%"


@register.filter
def dec1(value: Fraction | Decimal | int | str | None) -> str:
    """One decimal (days, medians of counts); ``—`` for none."""
    if value is None or value == "":
        return "—"
    out = fraction_to_decimal(Fraction(value), 1)
    return f"{out}".removesuffix(".0")


@register.filter
def rate_of(rate: Rate) -> str:
    """``3/4``: the sample behind a rate."""
    return f"{rate.numerator}/{rate.denominator}"


@register.filter
def get_item(mapping: dict[int, object] | str, key: int) -> object:
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def money_if(amount: Decimal | int | None, show: bool) -> str:
    """The amount as ``money`` shows it when the reader sees money (the view's ``show_money``,
    ``billing.permissions.sees_no_money``), else ``—``."""
    return money(amount) if show else "—"
