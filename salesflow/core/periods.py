"""Calendar periods of plans, targets and reports (issue 10): fiscal year, quarter, month, week.

Pure and exact: a :class:`Period` is a kind and an inclusive day range, named by a stable key
that URLs, the API and stored targets use:

=========  ===============  ============================================================
kind       key              days
=========  ===============  ============================================================
year       ``2026``         the fiscal year that *starts* in 2026
                            (``SALESFLOW_FISCAL_YEAR_START_MONTH``, default January)
quarter    ``2026-Q1``      the fiscal year's first three months
month      ``2026-12``      a calendar month
week       ``2026-12-W1``   the month's first week: Monday–Sunday clipped to the month
                            (so the weeks of a month partition it exactly, and a year's
                            weeks sum to the year — a target decomposed to weeks rolls up)
=========  ===============  ============================================================

``children`` walks year → quarter → month → week; ``parse_period`` refuses any other key
with ``ValueError``. ``elapsed_fraction`` is the pace: which share of the period's days has
passed by the end of ``today``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.utils.translation import gettext as _

PeriodKind = Literal["year", "quarter", "month", "week"]
KINDS: tuple[PeriodKind, ...] = ("year", "quarter", "month", "week")

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WEEK = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])-W([1-6])$")
MIN_YEAR, MAX_YEAR = 2000, 2100


def fiscal_start_month() -> int:
    month = int(getattr(settings, "SALESFLOW_FISCAL_YEAR_START_MONTH", 1))
    return month if 1 <= month <= 12 else 1


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


def _month_end(year: int, month: int) -> date:
    y, m = _add_months(year, month, 1)
    return date(y, m, 1) - timedelta(days=1)


@dataclass(frozen=True, order=True)
class Period:
    """A period: ``start`` and ``end`` are both inclusive."""

    start: date
    end: date
    kind: PeriodKind
    key: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def label(self) -> str:
        """How people read it, in the active language (``2026年第1季度`` / ``Q1 2026``)."""
        if self.kind == "year":
            return _("FY %(year)s") % {"year": self.key}
        if self.kind == "quarter":
            year, q = self.key.split("-Q")
            return _("Q%(quarter)s %(year)s") % {"quarter": q, "year": year}
        if self.kind == "month":
            return _("%(year)s-%(month)s") % {"year": self.key[:4], "month": self.key[5:7]}
        return _("%(start)s–%(end)s") % {"start": self.start.strftime("%m-%d"), "end": self.end.strftime("%m-%d")}


def year_period(year: int) -> Period:
    """The fiscal year starting in ``year``."""
    start = date(year, fiscal_start_month(), 1)
    ey, em = _add_months(year, fiscal_start_month(), 11)
    return Period(start, _month_end(ey, em), "year", f"{year:04d}")


def quarter_period(year: int, quarter: int) -> Period:
    sy, sm = _add_months(year, fiscal_start_month(), 3 * (quarter - 1))
    ey, em = _add_months(sy, sm, 2)
    return Period(date(sy, sm, 1), _month_end(ey, em), "quarter", f"{year:04d}-Q{quarter}")


def month_period(year: int, month: int) -> Period:
    return Period(date(year, month, 1), _month_end(year, month), "month", f"{year:04d}-{month:02d}")


def weeks_of_month(year: int, month: int) -> list[Period]:
    """The month's weeks, Monday–Sunday clipped to the month, numbered from 1."""
    start, end = date(year, month, 1), _month_end(year, month)
    weeks: list[Period] = []
    day = start
    while day <= end:
        week_end = min(day + timedelta(days=6 - day.weekday()), end)
        weeks.append(Period(day, week_end, "week", f"{year:04d}-{month:02d}-W{len(weeks) + 1}"))
        day = week_end + timedelta(days=1)
    return weeks


def parse_period(key: str) -> Period:
    """The period named by ``key``; ``ValueError`` for anything else (years 2000–2100)."""
    key = (key or "").strip()
    if m := _YEAR.match(key):
        year = int(m[1])
        _check_year(year)
        return year_period(year)
    if m := _QUARTER.match(key):
        year = int(m[1])
        _check_year(year)
        return quarter_period(year, int(m[2]))
    if m := _MONTH.match(key):
        year = int(m[1])
        _check_year(year)
        return month_period(year, int(m[2]))
    if m := _WEEK.match(key):
        year, month, n = int(m[1]), int(m[2]), int(m[3])
        _check_year(year)
        weeks = weeks_of_month(year, month)
        if n <= len(weeks):
            return weeks[n - 1]
    raise ValueError(f"not a period key: {key[:40]!r}")


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year out of range: {year}")


def children(period: Period) -> list[Period]:
    """The next level down: year → 4 quarters, quarter → 3 months, month → weeks; week → []."""
    if period.kind == "year":
        year = int(period.key)
        return [quarter_period(year, q) for q in range(1, 5)]
    if period.kind == "quarter":
        result: list[Period] = []
        y, m = period.start.year, period.start.month
        for _i in range(3):
            result.append(month_period(y, m))
            y, m = _add_months(y, m, 1)
        return result
    if period.kind == "month":
        return weeks_of_month(period.start.year, period.start.month)
    return []


def fiscal_year_of(day: date) -> int:
    """The fiscal year (its starting calendar year) that contains ``day``."""
    return day.year if day.month >= fiscal_start_month() else day.year - 1


def period_containing(kind: PeriodKind, day: date) -> Period:
    """The period of ``kind`` that contains ``day``."""
    year = fiscal_year_of(day)
    if kind == "year":
        return year_period(year)
    if kind == "quarter":
        offset = (day.year * 12 + day.month - 1) - (year * 12 + fiscal_start_month() - 1)
        return quarter_period(year, offset // 3 + 1)
    if kind == "month":
        return month_period(day.year, day.month)
    return next(w for w in weeks_of_month(day.year, day.month) if w.contains(day))


def months_between(start: date, end: date) -> list[Period]:
    """The calendar months overlapping ``[start, end]``, in order."""
    result: list[Period] = []
    y, m = start.year, start.month
    while date(y, m, 1) <= end:
        result.append(month_period(y, m))
        y, m = _add_months(y, m, 1)
    return result


def elapsed_fraction(period: Period, today: date) -> Decimal:
    """Share of the period's days that have passed by the end of ``today`` (0 before, 1 after)."""
    if today < period.start:
        return Decimal(0)
    if today >= period.end:
        return Decimal(1)
    return Decimal((today - period.start).days + 1) / Decimal(period.days)
