"""Money helpers: amounts are ``Decimal`` with two places plus an ISO 4217 currency."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings

MONEY_MAX_DIGITS = 18
MONEY_DECIMAL_PLACES = 2
CENT = Decimal("0.01")


def default_currency() -> str:
    """The installation's default currency (``SALESFLOW_DEFAULT_CURRENCY``, CNY unless set)."""
    return str(settings.SALESFLOW_DEFAULT_CURRENCY)


def currency_choices() -> list[tuple[str, str]]:
    """Currencies offered in forms: the configured list, default first."""
    codes = [default_currency()] + [c for c in settings.SALESFLOW_CURRENCIES if c != default_currency()]
    return [(c, c) for c in codes]


def quantize(value: Decimal | int | str) -> Decimal:
    """Round half-up to cents; raises ``ValueError`` for values that are not finite numbers
    (including ``NaN`` and ``Infinity``)."""
    try:
        number = Decimal(value)
        if not number.is_finite():
            raise InvalidOperation
        return number.quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not a decimal amount: {value!r}") from exc


def weighted(amount: Decimal, probability: int) -> Decimal:
    """``amount × probability%`` rounded to cents."""
    return quantize(amount * Decimal(probability) / Decimal(100))
