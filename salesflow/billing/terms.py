"""Payment terms → instalments: a small, documented grammar (pure: no database).

The terms text of a contract (``Contract.payment_terms``) or typed by a user is read as one
of these forms (case, full-width characters and spaces do not matter):

==============================  ==========================================================
``net 30`` / ``月结30天``         one instalment of the whole total due ``start + 30`` days
``30/60/10``                    milestones in percent (they must add up to 100), due on
                                the start date and then every 30 days
``30/60/10 @ 0/60/365``         the same with each milestone's days after the start
``30%/60%/10%``                 ``%`` signs are allowed
``12 monthly`` / ``分12期``       N equal monthly instalments, the first a month after the
                                start, the next on the same day of each following month
                                (clamped to the month's last day)
``100`` / ``全款``               one instalment of the whole total on the start date
==============================  ==========================================================

Amounts: each milestone is ``round_half_up(total × percent / 100)`` to the currency's minor
units, and the LAST instalment takes the rest, so the instalments always add up to the
total exactly (equal instalments likewise: the remainder of the division goes last).
Anything else raises :class:`TermsError` (a ``ValueError`` with a translatable message);
the plan can then be entered instalment by instalment.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_FLOOR, Decimal, localcontext

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from salesflow.core.money import minor_units

MAX_PARTS = 120
MAX_DAYS = 3660


class TermsError(ValueError):
    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class PlannedInstalment:
    position: int
    label: str
    amount: Decimal
    due_date: date


_NET = re.compile(r"(?:net|n)(\d{1,4})|月结(\d{1,4})天?|(\d{1,4})天(?:内)?(?:付款|付清)?")
_MONTHLY = re.compile(r"(\d{1,3})(?:equal)?(?:monthly|months|monthlyinstalments|monthlyinstallments)|分(\d{1,3})期")
_SPLIT = re.compile(r"(\d{1,3}(?:\.\d{1,2})?)%?(?:/(\d{1,3}(?:\.\d{1,2})?)%?)*")
_FULL = {"100", "100%", "全款", "一次性付清", "full", "fullpayment", "inadvance", "预付全款"}


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamped to the last day of the month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _split_amounts(total: Decimal, percents: list[Decimal], currency: str) -> list[Decimal]:
    """``total`` split by ``percents`` (which add up to 100) in whole minor units, by the
    largest-remainder rule: each part gets its exact share rounded down, and the units left
    over go one each to the parts with the largest remainders (earlier parts first on a tie).
    The parts always add up to ``total`` exactly and none is negative, however small the total
    (0.02 over four quarters is 0.01, 0.01, 0, 0)."""
    step = Decimal(1).scaleb(-minor_units(currency))
    with localcontext() as ctx:
        ctx.prec = 40
        units = int((total / step).to_integral_value())
        exact = [total / step * p / 100 for p in percents]
        floors = [int(share.to_integral_value(rounding=ROUND_FLOOR)) for share in exact]
        left = units - sum(floors)
        order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
        for i in order[: max(left, 0)]:
            floors[i] += 1
        amounts = [Decimal(n) * step for n in floors]
    if sum(amounts, Decimal(0)) != total or min(amounts) < 0:  # pragma: no cover - percents add up to 100
        raise TermsError(_("The payment terms do not add up to the total."))
    return amounts


def _equal_amounts(total: Decimal, count: int, currency: str) -> list[Decimal]:
    step = Decimal(1).scaleb(-minor_units(currency))
    with localcontext() as ctx:
        ctx.prec = 40
        part = (total / count).quantize(step, rounding=ROUND_DOWN)
    return [part] * (count - 1) + [total - part * (count - 1)]


def derive_instalments(terms: str, total: Decimal, currency: str, start: date) -> list[PlannedInstalment]:
    """The instalments the terms describe for ``total`` from ``start`` (see the module
    docstring). Raises :class:`TermsError` for terms it does not understand."""
    text = _normal(terms or "")
    if not text:
        raise TermsError(_("Enter payment terms, e.g. “30/60/10”, “net 30” or “12 monthly”."))
    if len(text) > 200:
        raise TermsError(_("The payment terms are too long to read."))
    if text in _FULL:
        return [PlannedInstalment(1, str(_("Full payment")), total, start)]
    match = _NET.fullmatch(text)
    if match:
        days = int(next(g for g in match.groups() if g is not None))
        if days > MAX_DAYS:
            raise TermsError(_("At most %(n)s days.") % {"n": MAX_DAYS})
        return [PlannedInstalment(1, str(_("Net %(days)s days") % {"days": days}), total, start + timedelta(days))]
    match = _MONTHLY.fullmatch(text)
    if match:
        count = int(next(g for g in match.groups() if g is not None))
        if not 1 <= count <= MAX_PARTS:
            raise TermsError(_("Between 1 and %(n)s instalments.") % {"n": MAX_PARTS})
        amounts = _equal_amounts(total, count, currency)
        return [
            PlannedInstalment(i + 1, str(_("Month %(n)s") % {"n": i + 1}), amount, add_months(start, i + 1))
            for i, amount in enumerate(amounts)
        ]
    shares, _sep, offsets = text.partition("@")
    if _SPLIT.fullmatch(shares):
        percents = [Decimal(p.rstrip("%")) for p in shares.split("/")]
        if len(percents) > MAX_PARTS:
            raise TermsError(_("Between 1 and %(n)s instalments.") % {"n": MAX_PARTS})
        if sum(percents) != 100 or any(p <= 0 for p in percents):
            raise TermsError(_("The percentages must be positive and add up to 100."))
        if offsets:
            if not re.fullmatch(r"\d{1,4}(?:/\d{1,4})*", offsets):
                raise TermsError(_("Write the days after the start as “0/60/365”."))
            after = [int(d) for d in offsets.split("/")]
            if len(after) != len(percents):
                raise TermsError(_("Give one number of days per milestone."))
            if any(d > MAX_DAYS for d in after):
                raise TermsError(_("At most %(n)s days.") % {"n": MAX_DAYS})
        else:
            after = [30 * i for i in range(len(percents))]
        amounts = _split_amounts(total, percents, currency)
        return [
            PlannedInstalment(i + 1, f"{percents[i].normalize():f}%", amounts[i], start + timedelta(after[i]))
            for i in range(len(percents))
        ]
    raise TermsError(_("These payment terms cannot be read: use e.g. “30/60/10”, “net 30” or “12 monthly”."))
