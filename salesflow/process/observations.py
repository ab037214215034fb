"""Per-deal observations of the sales process (issue 11): the shared contract of the process
pages, control charts and DMAIC projects.

An :class:`Observation` is one measured case — a deal leaving a stage after so many
seconds, a won deal's cycle time, a closed deal's outcome — with the day it completed. The
process pages summarise them (percentiles, rates), the control charts plot them in order,
and an improvement project compares the ones before and after a change. Every reader asks
through :func:`observe` with a :class:`Segment`, so "the review stage's time for team A
from small companies" means the same rows everywhere.

Guarantees:

- **Team at the time.** A stage exit counts for the deal's owner *at the time of the change*
  (the ``StageChange.owner`` snapshot); a closed deal for its owner (the same rule as the
  dashboards). A team segment counts each person only for the days they belonged to it
  (``analytics.selectors.node_windows``).
- **Days in the company time zone**; ranges are inclusive ``[start, end]``.
- **Ordered** by (day, time, opportunity id), so a control chart is stable.
- Deals of every pipeline are included unless the segment names one.
- No visibility check here: the caller has already checked the node
  (``analytics.selectors.node_for_user``); the figures are aggregates of that node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.analytics.metrics import _datetime_q
from salesflow.analytics.selectors import Node, node_windows
from salesflow.core.metrics import FactQuery, MetricFilters
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity, StageChange

MetricUnit = Literal["seconds", "days", "rate"]


@dataclass(frozen=True)
class Segment:
    """Which deals: the node (company, team with its subtree, rep), the dashboard filters
    (pipeline, product line, region with its subtree, source) and the account's industry and
    size (``parties.choices`` codes; blank = all)."""

    node: Node = field(default_factory=lambda: Node("company"))
    filters: MetricFilters = field(default_factory=MetricFilters)
    industry: str = ""
    size: str = ""

    def fact_query(self, start: date, end: date) -> FactQuery:
        return FactQuery(start=start, end=end, windows=node_windows(self.node, start, end), filters=self.filters)


@dataclass(frozen=True)
class Observation:
    day: date
    value: float
    opportunity_id: int


def _segment_q(segment: Segment, prefix: str) -> Q:
    f = segment.filters
    q = Q()
    if f.pipeline_ids:
        q &= Q(**{f"{prefix}pipeline_id__in": f.pipeline_ids})
    if f.region_ids:
        q &= Q(**{f"{prefix}account__region_id__in": f.region_ids})
    if f.sources:
        q &= Q(**{f"{prefix}account__source__in": f.sources})
    if segment.industry:
        q &= Q(**{f"{prefix}account__industry": segment.industry})
    if segment.size:
        q &= Q(**{f"{prefix}account__size": segment.size})
    return q


def _product_line_q(segment: Segment, deal_ref: str) -> Q:
    if not segment.filters.product_line_ids:
        return Q()
    from salesflow.catalogue.models import OpportunityLine

    lines = OpportunityLine.objects.filter(
        opportunity_id=OuterRef(deal_ref), product__category_id__in=segment.filters.product_line_ids
    )
    return Q(Exists(lines))


def stage_exits(segment: Segment, start: date, end: date, stage_id: int | None = None) -> QuerySet[StageChange]:
    """The changes that ended a stay in a stage (``from_stage``) in ``[start, end]`` within the
    segment, with ``duration_seconds`` known."""
    query = segment.fact_query(start, end)
    qs = StageChange.objects.filter(
        _datetime_q(query, "owner_id", "changed_at"),
        _segment_q(segment, "opportunity__"),
        _product_line_q(segment, "opportunity_id"),
        from_stage__isnull=False,
        duration_seconds__isnull=False,
    )
    if stage_id is not None:
        qs = qs.filter(from_stage_id=stage_id)
    return qs


def closed_deals(segment: Segment, start: date, end: date) -> QuerySet[Opportunity]:
    """Deals won or lost with ``closed_on`` in ``[start, end]`` within the segment (owner's
    windows)."""
    query = segment.fact_query(start, end)
    return Opportunity.objects.filter(
        query.owner_day_q("owner_id", "closed_on"),
        _segment_q(segment, ""),
        _product_line_q(segment, "pk"),
        outcome__in=(Outcome.WON, Outcome.LOST),
        closed_on__isnull=False,
    )


def _local_day(value: object) -> date:
    from django.utils import timezone

    assert hasattr(value, "astimezone")
    return timezone.localtime(value).date()  # type: ignore[arg-type]


def time_in_stage(segment: Segment, start: date, end: date, *, stage_id: int | None = None) -> list[Observation]:
    """Seconds spent in a stage, one observation per exit (on the day of the exit)."""
    rows = (
        stage_exits(segment, start, end, stage_id)
        .order_by("changed_at", "opportunity_id", "pk")
        .values_list("changed_at", "duration_seconds", "opportunity_id")
    )
    return [Observation(_local_day(at), float(seconds or 0), opp) for at, seconds, opp in rows]


def cycle_time(segment: Segment, start: date, end: date, *, stage_id: int | None = None) -> list[Observation]:
    """Days from creation to the close date, one observation per deal WON in the range (on
    its close date). ``stage_id`` is ignored."""
    rows = (
        closed_deals(segment, start, end)
        .filter(outcome=Outcome.WON)
        .order_by("closed_on", "closed_at", "pk")
        .values_list("closed_on", "created_at", "pk")
    )
    return [
        Observation(closed, float((closed - _local_day(created)).days), pk)
        for closed, created, pk in rows
        if closed is not None
    ]


def win_outcome(segment: Segment, start: date, end: date, *, stage_id: int | None = None) -> list[Observation]:
    """1 for a deal won, 0 for a deal lost, on its close date: the mean is the win rate."""
    rows = (
        closed_deals(segment, start, end)
        .order_by("closed_on", "closed_at", "pk")
        .values_list("closed_on", "outcome", "pk")
    )
    return [Observation(closed, 1.0 if outcome == Outcome.WON else 0.0, pk) for closed, outcome, pk in rows if closed]


def rework(segment: Segment, start: date, end: date, *, stage_id: int | None = None) -> list[Observation]:
    """1 for a stage change that moved a deal back (a regression), 0 for a forward move, on
    the day of the change: the mean is the regression (rework) rate. With ``stage_id``, only
    moves out of that stage."""
    query = segment.fact_query(start, end)
    qs = StageChange.objects.filter(
        _datetime_q(query, "owner_id", "changed_at"),
        _segment_q(segment, "opportunity__"),
        _product_line_q(segment, "opportunity_id"),
        from_stage__isnull=False,
    ).exclude(to_stage_id=F("from_stage_id"))
    if stage_id is not None:
        qs = qs.filter(from_stage_id=stage_id)
    rows = qs.order_by("changed_at", "opportunity_id", "pk").values_list(
        "changed_at", "is_regression", "opportunity_id"
    )
    return [Observation(_local_day(at), 1.0 if back else 0.0, opp) for at, back, opp in rows]


@dataclass(frozen=True)
class ProcessMetric:
    """A measure of the process: its key, label, unit, whether lower is better, whether it
    needs a stage, and the function that lists its observations."""

    key: str
    label: object  # a lazy translation
    unit: MetricUnit
    lower_is_better: bool
    needs_stage: bool
    observe: Callable[..., list[Observation]]


PROCESS_METRICS: dict[str, ProcessMetric] = {
    m.key: m
    for m in (
        ProcessMetric("time_in_stage", _("Time in stage"), "seconds", True, True, time_in_stage),
        ProcessMetric("cycle_time", _("Cycle time (won deals)"), "days", True, False, cycle_time),
        ProcessMetric("win_rate", _("Win rate"), "rate", False, False, win_outcome),
        ProcessMetric("rework_rate", pgettext_lazy("process", "Regression rate"), "rate", True, False, rework),
    )
}


def observe(
    metric_key: str, segment: Segment, start: date, end: date, *, stage_id: int | None = None
) -> list[Observation]:
    """The observations of ``metric_key`` (``PROCESS_METRICS``) in ``[start, end]``.
    ``KeyError`` for an unknown metric; ``ValueError`` when the metric needs a stage and none
    is given."""
    metric = PROCESS_METRICS[metric_key]
    if metric.needs_stage and stage_id is None:
        raise ValueError("stage")
    return metric.observe(segment, start, end, stage_id=stage_id)
