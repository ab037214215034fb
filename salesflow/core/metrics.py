"""The metrics registry (issue 10): every figure a plan, a dashboard or a report counts.

A metric is declared once, by the app that owns its rows, in its ``AppConfig.ready`` with
:func:`register_metric`; plans, attainment, scorecards, dashboards, commissions and (later)
forecasts only ever ask the registry. A module added later (after-sales, channels,
marketing) adds its own metrics the same way; nothing else changes.

A metric answers two questions over the same rows, so a figure and its drill-down always
agree:

* ``facts(query)`` — the figure's rows aggregated to ``(owner_id, day, value, count)``:
  ``value`` is in the company currency for ``unit == "money"`` (each amount converted at the
  rate valid on its own day, ``core.selectors.RateBook``), else the count; ``count`` is the
  number of records behind the row. Currencies without a rate are left out and named in
  ``Facts.missing_rates``, never converted at a guessed rate;
* ``records(query)`` — the records behind the figure (a queryset of the metric's
  ``record_kind``), *not* yet narrowed by the reader's visibility: the caller applies the
  kind's ``<kind>s_visible_to(user)``.

A :class:`FactQuery` carries the day range and, optionally, **owner windows**: the figure
counts a record only when its owner and its day fall in one of the windows. A rep's node is
one window (the rep, the whole period); a team's node is one window per person and per
stretch of the period they belonged to the team (``users.selectors.team_history``), so
people who change teams mid-year keep their history with the team of the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Count, Q, QuerySet
from django.utils.functional import Promise

Unit = Literal["money", "count"]
#: filters a metric may honour; ``Metric.honours`` names the ones it does
FILTER_NAMES: tuple[str, ...] = ("pipeline", "product_line", "region", "source")


def row_count() -> Count:
    """``COUNT(*)``: the rows of a group. The figures count rows this way, never
    ``COUNT(id)``: PostgreSQL answers ``COUNT(*)`` from a covering index alone (an
    index-only scan), while ``COUNT(id)`` needs the id, which the figures' indexes do not
    hold, so it visited the table for every row (a year of the company's activities:
    a sequential scan of all 3M at bench scale 1.0). The same number: ids are never null."""
    return Count("*")


@dataclass(frozen=True)
class MetricFilters:
    """Dashboard and report filters. Empty tuples mean "no filter". ``region_ids`` are
    territory ids *with* their subtrees already expanded by the caller."""

    pipeline_ids: tuple[int, ...] = ()
    product_line_ids: tuple[int, ...] = ()
    region_ids: tuple[int, ...] = ()
    sources: tuple[str, ...] = ()

    def active(self) -> set[str]:
        """Names of the filters that are set (``FILTER_NAMES`` spelling)."""
        names = set()
        if self.pipeline_ids:
            names.add("pipeline")
        if self.product_line_ids:
            names.add("product_line")
        if self.region_ids:
            names.add("region")
        if self.sources:
            names.add("source")
        return names


@dataclass(frozen=True)
class OwnerWindow:
    """Count the records of ``owner_id`` whose day lies in ``[start, end]`` (inclusive)."""

    owner_id: int
    start: date
    end: date


@dataclass(frozen=True)
class FactQuery:
    """Days ``[start, end]`` (inclusive); ``windows=None`` means every owner.

    ``per_day=False`` tells a metric that the caller only sums rows per owner over the whole
    range (no window splits it): a count metric may then return one row per owner, dated
    ``start``, instead of one per owner and day (a year of the company's activities is
    73,000 owner-days, 200 owners). Money metrics keep their days (each is converted at the
    rate of its own day)."""

    start: date
    end: date
    windows: tuple[OwnerWindow, ...] | None = None
    filters: MetricFilters = field(default_factory=MetricFilters)
    per_day: bool = True

    def owner_day_q(self, owner_field: str, day_field: str) -> Q:
        """``Q`` of the day range and the owner windows, on the given field names.

        With windows, an empty tuple matches nothing (a team nobody belonged to)."""
        q = Q(**{f"{day_field}__gte": self.start, f"{day_field}__lte": self.end})
        if self.windows is None:
            return q
        if not self.windows:
            return Q(pk__in=[])
        by_range: dict[tuple[date, date], list[int]] = {}
        for w in self.windows:
            start, end = max(w.start, self.start), min(w.end, self.end)
            if start <= end:
                by_range.setdefault((start, end), []).append(w.owner_id)
        if not by_range:
            return Q(pk__in=[])
        windows_q = Q(pk__in=[])
        for (start, end), owners in by_range.items():
            windows_q |= Q(
                **{f"{owner_field}__in": sorted(owners), f"{day_field}__gte": start, f"{day_field}__lte": end}
            )
        return windows_q


@dataclass(frozen=True)
class FactRow:
    owner_id: int
    day: date
    value: Decimal
    count: int


@dataclass
class Facts:
    rows: list[FactRow] = field(default_factory=list)
    missing_rates: set[str] = field(default_factory=set)

    def total(self) -> Decimal:
        return sum((r.value for r in self.rows), Decimal(0))


@dataclass(frozen=True)
class Metric:
    """One figure. ``key`` is stable (stored in plans and URLs); ``label`` is translatable.

    ``record_kind`` names the visibility kind of ``records`` (``"opportunity"``,
    ``"activity"``, ``"account"``, ``"payment"``); ``honours`` the filters it applies
    (others are reported to the reader as not applied); ``plannable`` whether a plan may set
    a goal for it; ``order`` sorts metrics in pickers and plans.
    """

    key: str
    label: str | Promise
    unit: Unit
    record_kind: str
    facts: Callable[[FactQuery], Facts]
    records: Callable[[FactQuery], QuerySet[Any]]
    honours: frozenset[str] = frozenset()
    plannable: bool = True
    description: str | Promise = ""
    order: int = 100


_REGISTRY: dict[str, Metric] = {}


def register_metric(metric: Metric) -> None:
    """Add ``metric``; registering the same key twice replaces it (``ready`` may run twice in tests)."""
    _REGISTRY[metric.key] = metric


def get_metric(key: str) -> Metric:
    """The metric ``key``; ``KeyError`` for an unknown one."""
    return _REGISTRY[key]


def all_metrics(*, plannable: bool | None = None) -> list[Metric]:
    """Registered metrics in display order, optionally only the plannable ones."""
    found = [m for m in _REGISTRY.values() if plannable is None or m.plannable == plannable]
    return sorted(found, key=lambda m: (m.order, m.key))


def metric_keys() -> Iterable[str]:
    return [m.key for m in all_metrics()]
