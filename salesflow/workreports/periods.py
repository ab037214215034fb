"""Report periods: a day in the author's time zone, or an ISO week (Monday … Sunday).

Pure functions (no database), shared by models, selectors, services, views and the job.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from salesflow.workreports.choices import ReportKind

#: No report period starts before this day (the product's dates start in 2000).
EARLIEST = date(2000, 1, 3)  # a Monday


def period_of(kind: str, day: date) -> tuple[date, date]:
    """The first and last day of the ``kind`` period holding ``day``."""
    if kind == ReportKind.WEEKLY:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    return day, day


def bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start 00:00, end + 1 day 00:00)`` in ``zone``, as aware datetimes."""
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def shift(kind: str, start: date, steps: int) -> date:
    """The start of the period ``steps`` periods after the one starting on ``start``."""
    return start + timedelta(days=(7 if kind == ReportKind.WEEKLY else 1) * steps)


def label(kind: str, start: date) -> str:
    """``2026-12-03`` for a day, ``2026-W49 (11-30 – 12-06)`` for a week."""
    if kind == ReportKind.WEEKLY:
        year, week, _day = start.isocalendar()
        end = start + timedelta(days=6)
        return f"{year}-W{week:02d} ({start:%m-%d} – {end:%m-%d})"
    return start.isoformat()
