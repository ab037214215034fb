"""Reads of the kernel: exchange rates and conversion to the company currency."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from salesflow.core.models import ExchangeRate
from salesflow.core.money import company_currency, minor_units

#: Decimal precision for sums of converted amounts: a 64-bit sum of hundredths (19 digits)
#: times a rate (15 digits) times a probability stays exact, so only the final rounding
#: to minor units rounds (the default context would round at 28 digits).
EXACT_PRECISION = 60


class RateMissing(LookupError):
    """No exchange rate of ``currency`` is valid on ``on_date``; ``message`` is for people."""

    def __init__(self, currency: str, on_date: date) -> None:
        self.currency = currency
        self.on_date = on_date
        self.message = _("No exchange rate for %(currency)s is valid on %(date)s: an administrator must enter one.") % {
            "currency": currency,
            "date": on_date.isoformat(),
        }
        super().__init__(str(self.message))


def rates_on(currencies: Iterable[str] | None, on_date: date) -> dict[str, ExchangeRate]:
    """The rate of each currency valid on ``on_date`` (the latest ``valid_from`` on or before
    it), in one query; currencies without such a rate are left out. ``currencies=None``:
    every currency that has one (still one query)."""
    home = company_currency()
    latest = (
        ExchangeRate.objects.filter(currency=OuterRef("currency"), valid_from__lte=on_date)
        .order_by("-valid_from")
        .values("valid_from")[:1]
    )
    rows = ExchangeRate.objects.filter(valid_from=Subquery(latest))
    if currencies is not None:
        wanted = sorted({c.upper() for c in currencies} - {home})
        if not wanted:
            return {}
        rows = rows.filter(currency__in=wanted)
    return {row.currency: row for row in rows if row.currency != home}


def apply_rate(amount: Decimal, rate: ExchangeRate | None) -> Decimal:
    """``amount × rate`` in the company currency, rounded half-up once to its minor units
    (``rate=None`` means the amount already is in the company currency)."""
    places = minor_units(company_currency())
    with localcontext() as ctx:
        ctx.prec = EXACT_PRECISION
        value = amount if rate is None else amount * rate.rate
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def convert(amount: Decimal, currency: str, on_date: date) -> tuple[Decimal, ExchangeRate | None]:
    """``amount`` of ``currency`` in the company currency with the rate valid on ``on_date``.

    Returns the converted amount and the rate used (``None`` when ``currency`` is the
    company currency). Raises :class:`RateMissing` when no rate is valid on that date —
    never a silent guess.
    """
    currency = currency.upper()
    if currency == company_currency():
        return apply_rate(amount, None), None
    rate = rates_on([currency], on_date).get(currency)
    if rate is None:
        raise RateMissing(currency, on_date)
    return apply_rate(amount, rate), rate


class RateBook:
    """Every rate of some currencies valid up to ``until``, loaded in one query, for converting
    many amounts at each one's own dated rate (reports, attainment, dashboards).

    ``convert(amount, currency, day)`` answers the same as :func:`convert` for that day, or
    ``None`` when no rate is valid then (the caller counts the amount as missing, never
    guesses).
    """

    def __init__(self, currencies: Iterable[str], until: date) -> None:
        from bisect import bisect_right

        self._bisect = bisect_right
        self._company = company_currency()
        wanted = sorted({c.upper() for c in currencies} - {self._company})
        self._days: dict[str, list[date]] = {}
        self._rates: dict[str, list[ExchangeRate]] = {}
        if wanted:
            for rate in ExchangeRate.objects.filter(currency__in=wanted, valid_from__lte=until).order_by(
                "currency", "valid_from"
            ):
                self._days.setdefault(rate.currency, []).append(rate.valid_from)
                self._rates.setdefault(rate.currency, []).append(rate)

    def rate(self, currency: str, day: date) -> ExchangeRate | None:
        days = self._days.get(currency.upper())
        if not days:
            return None
        i = self._bisect(days, day) - 1
        return self._rates[currency.upper()][i] if i >= 0 else None

    def convert(self, amount: Decimal, currency: str, day: date) -> Decimal | None:
        if currency.upper() == self._company:
            return apply_rate(amount, None)
        rate = self.rate(currency, day)
        return None if rate is None else apply_rate(amount, rate)
