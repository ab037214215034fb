"""Process intelligence (issue 11 item 4): time in stage, conversion, first-pass yield,
regression, throughput, WIP with the Little's-law check, bottlenecks and control charts.

Every figure reads the fact tables of :mod:`salesflow.process.models` (kept by
``process.tasks``), in a fixed number of grouped queries whatever the data size; the caller
has already checked the node (``analytics.selectors.node_for_user``).

Definitions (the page states them too):

- **Time in stage**: one value per stage exit in the period (exit day, company time zone),
  attributed to the owner and team *at the time of the exit*; P50/P80/P95 are
  ``core.stats.percentile`` (numpy "linear").
- **Stage conversion**: exits that moved forward or won ÷ all exits of the stage;
  **regression rate**: exits that moved back ÷ all exits of the stage.
- **First-pass yield**: deals won without ever moving back ÷ deals closed (won or lost) in
  the period (close day, the deal's owner).
- **Throughput**: exits per week (exits ÷ (period length in days ÷ 7), the period cut at
  now). **WIP now**: deals in the stage now (current owner). **Average WIP**: the time all
  stays spent in the stage inside the period ÷ the period's length.
- **Little's law**: average WIP = throughput × average time in stage; both sides are shown
  with their ratio. It holds exactly when every stay overlapping the period lies within it,
  and approximately for long periods.
- **Bottleneck** (:func:`bottleneck_rule`): the open stage with the highest P80 time in
  stage among those with at least :data:`MIN_EXITS` exits; a tie goes to the earlier stage.
- **Control charts**: one point per week (Monday), the mean of that week's observations
  (cycle time of the deals won, win rate of the deals closed, time in a stage of its exits,
  regression rate of the exits); XmR limits (``core.stats.xmr``) and the Western Electric
  rules 1–4 (``core.stats.western_electric``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from django.db.models import Count, Exists, F, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesflow.analytics.metrics import day_bounds
from salesflow.analytics.selectors import node_owner_ids_now, node_windows, user_names
from salesflow.core.metrics import FactQuery, OwnerWindow
from salesflow.core.stats import Signal, XmR, percentile, western_electric, xmr
from salesflow.parties.choices import CompanySize, Industry, SourceChannel
from salesflow.process.models import DealFact, ExitKind, StageVisit
from salesflow.process.observations import PROCESS_METRICS, Segment
from salesflow.sales.choices import StageKind
from salesflow.sales.models import Pipeline, Stage
from salesflow.users.models import Team, Territory

DAY = 86_400
WEEK = 7 * DAY
MIN_EXITS = 5
BOTTLENECK_RULE = _(
    "The bottleneck is the open stage with the highest P80 time in stage among the stages with at "
    "least %(n)s exits in the period; a tie goes to the earlier stage."
)


def bottleneck_rule() -> str:
    """:data:`BOTTLENECK_RULE` in the active language."""
    return str(BOTTLENECK_RULE) % {"n": MIN_EXITS}


Dimension = Literal["team", "rep", "industry", "size", "source", "region"]
DIMENSIONS: tuple[Dimension, ...] = ("team", "rep", "industry", "size", "source", "region")
#: dimensions whose bottleneck is shown (a rep's sample is usually too small)
SEGMENT_DIMENSIONS: tuple[Dimension, ...] = ("team", "industry", "size", "source", "region")


# ---------------------------------------------------------------------------- filters


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def _filters_q(segment: Segment, opportunity_ref: str = "opportunity_id") -> Q:
    """The segment's deal filters on a fact table's own columns."""
    f = segment.filters
    q = Q()
    if f.pipeline_ids:
        q &= Q(pipeline_id__in=f.pipeline_ids)
    if f.region_ids:
        q &= Q(region_id__in=f.region_ids)
    if f.sources:
        q &= Q(source__in=f.sources)
    if segment.industry:
        q &= Q(industry=segment.industry)
    if segment.size:
        q &= Q(size=segment.size)
    if f.product_line_ids:
        from salesflow.catalogue.models import OpportunityLine

        lines = OpportunityLine.objects.filter(
            opportunity_id=OuterRef(opportunity_ref), product__category_id__in=f.product_line_ids
        )
        q &= Q(Exists(lines))
    return q


def _owner_q(windows: tuple[OwnerWindow, ...] | None, start: date, end: date, day_field: str) -> Q:
    return FactQuery(start=start, end=end, windows=windows).owner_day_q("owner_id", day_field)


def exits_qs(segment: Segment, start: date, end: date, windows: tuple[OwnerWindow, ...] | None = None) -> Any:
    """Finished stays that ended in ``[start, end]`` within the segment (owner at the exit)."""
    if windows is None and segment.node.kind != "company":
        windows = node_windows(segment.node, start, end)
    return StageVisit.objects.exclude(kind=ExitKind.OPEN).filter(
        _owner_q(windows, start, end, "exit_day"), _filters_q(segment)
    )


def closed_facts_qs(segment: Segment, start: date, end: date, windows: tuple[OwnerWindow, ...] | None = None) -> Any:
    """Closed deals of the segment with a close day in ``[start, end]`` (owner's windows)."""
    if windows is None and segment.node.kind != "company":
        windows = node_windows(segment.node, start, end)
    return DealFact.objects.filter(_owner_q(windows, start, end, "closed_on"), _filters_q(segment))


# ---------------------------------------------------------------------------- summary


@dataclass
class StageFigures:
    """One stage of the pipeline over the period (times in days, rates 0–1)."""

    stage_id: int
    name: str
    position: int
    exits: int = 0
    p50: float | None = None
    p80: float | None = None
    p95: float | None = None
    mean_days: float | None = None
    forward: int = 0
    back: int = 0
    won: int = 0
    lost: int = 0
    conversion: float | None = None
    regression_rate: float | None = None
    throughput_per_week: float = 0.0
    wip_now: int = 0
    wip_avg: float = 0.0
    little_rhs: float = 0.0  # throughput × average time in stage (deals)
    little_ratio: float | None = None  # average WIP ÷ (throughput × time)
    bottleneck: bool = False


@dataclass
class GroupRow:
    """Time in one stage for one value of a dimension (days)."""

    dimension: str
    key: str
    label: str
    stage_id: int
    stage: str
    n: int
    p50: float | None
    p80: float | None
    p95: float | None


@dataclass
class BottleneckRow:
    dimension: str
    key: str
    label: str
    stage_id: int | None
    stage: str
    p80: float | None
    n: int


@dataclass
class ProcessSummary:
    """Everything the process page and ``GET /api/v1/process/summary`` show."""

    pipeline_id: int | None
    pipeline: str
    start: date
    end: date
    weeks: float
    stages: list[StageFigures] = field(default_factory=list)
    closed: int = 0
    won: int = 0
    first_pass: int = 0
    first_pass_yield: float | None = None
    win_rate: float | None = None
    groups: dict[str, list[GroupRow]] = field(default_factory=dict)
    bottlenecks: list[BottleneckRow] = field(default_factory=list)
    bottleneck_stage_id: int | None = None
    rule: str = ""


def _days(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / DAY


def _pcts(values: list[float]) -> tuple[float | None, float | None, float | None]:
    ordered = sorted(values)
    return (
        _days(percentile(ordered, 50)),
        _days(percentile(ordered, 80)),
        _days(percentile(ordered, 95)),
    )


def _bottleneck(per_stage: dict[int, list[float]], stages: list[Stage]) -> tuple[int | None, float | None, int]:
    """(stage id, P80 days, exits) by :data:`BOTTLENECK_RULE`."""
    best: tuple[int | None, float | None, int] = (None, None, 0)
    for s in stages:
        values = per_stage.get(s.pk, [])
        if s.kind != StageKind.OPEN or len(values) < MIN_EXITS:
            continue
        p80 = _days(percentile(sorted(values), 80))
        if p80 is not None and (best[1] is None or p80 > best[1]):
            best = (s.pk, p80, len(values))
    return best


def _labels(dimension: str, keys: set[str], names: dict[str, dict[str, str]]) -> dict[str, str]:
    choices: dict[str, Any] = {
        "industry": dict(Industry.choices),
        "size": dict(CompanySize.choices),
        "source": dict(SourceChannel.choices),
    }
    out: dict[str, str] = {}
    for k in keys:
        if k == "":
            out[k] = str(_("Not set"))
        elif dimension in choices:
            out[k] = str(choices[dimension].get(k, k))
        else:
            out[k] = names.get(dimension, {}).get(k, k)
    return out


def process_summary(segment: Segment, start: date, end: date, *, pipeline: Pipeline | None) -> ProcessSummary:
    """The figures of ``pipeline`` (its stages) for the segment over ``[start, end]``: eight
    grouped queries whatever the number of deals (see the module docstring for definitions)."""
    summary = ProcessSummary(
        pipeline_id=pipeline.pk if pipeline else None,
        pipeline=str(pipeline) if pipeline else "",
        start=start,
        end=end,
        weeks=0.0,
        rule=bottleneck_rule(),
    )
    if pipeline is None:
        return summary
    if pipeline.pk not in segment.filters.pipeline_ids:
        from dataclasses import replace

        segment = replace(segment, filters=replace(segment.filters, pipeline_ids=(pipeline.pk,)))
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "pk"))
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    now = timezone.now()
    today = timezone.localdate()
    lo, hi = day_bounds(start, end)
    s_from, s_to = _epoch(lo), min(_epoch(hi), _epoch(now))
    span = max(s_to - s_from, 0)
    summary.weeks = span / WEEK
    wide_end = max(end, today)
    windows = None if segment.node.kind == "company" else node_windows(segment.node, start, wide_end)

    # 1. the exits of the period, one row each (percentiles need the values)
    rows = list(
        exits_qs(segment, start, end, windows).values_list(
            "stage_id", "kind", "duration_seconds", "team_id", "owner_id", "industry", "size", "source", "region_id"
        )
    )
    per_stage: dict[int, list[float]] = defaultdict(list)
    kinds: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    grouped: dict[str, dict[tuple[str, int], list[float]]] = {d: defaultdict(list) for d in DIMENSIONS}
    for stage_id, kind, seconds, team, owner, industry, size, source, region in rows:
        value = float(seconds or 0)
        per_stage[stage_id].append(value)
        kinds[stage_id][kind] += 1
        for dim, key in (
            ("team", "" if team is None else str(team)),
            ("rep", "" if owner is None else str(owner)),
            ("industry", industry),
            ("size", size),
            ("source", source),
            ("region", "" if region is None else str(region)),
        ):
            grouped[dim][(key, stage_id)].append(value)

    # 2. stays overlapping the period (average WIP): finished ones (they exited on or after
    # the first day: the (pipeline, exit_day) index) and open ones (WIP now), two queries
    inside = Least(Coalesce(F("exited_s"), Value(s_to)), Value(s_to)) - Greatest(F("entered_s"), Value(s_from))
    if segment.node.kind == "company":
        closed_node_q, open_node_q = Q(), Q()
    else:
        closed_node_q = _owner_q(windows, start, wide_end, "exit_day")
        open_node_q = Q(owner_id__in=sorted(node_owner_ids_now(segment.node) or set()))
    wip: dict[int, dict[str, Any]] = defaultdict(dict)
    finished = (
        StageVisit.objects.exclude(kind=ExitKind.OPEN)
        .filter(closed_node_q, _filters_q(segment), exit_day__gte=start, entered_s__lt=s_to, exited_s__gt=s_from)
        .values("stage_id")
        .annotate(inside=Sum(inside))
        .order_by()
    )
    for r in finished:
        wip[r["stage_id"]]["inside"] = r["inside"] or 0
    still = (
        StageVisit.objects.filter(open_node_q, _filters_q(segment), kind=ExitKind.OPEN)
        .values("stage_id")
        .annotate(now=Count("pk"), inside=Sum(inside, filter=Q(entered_s__lt=s_to)))
        .order_by()
    )
    for r in still:
        row = wip[r["stage_id"]]
        row["now"] = r["now"]
        row["inside"] = row.get("inside", 0) + max(r["inside"] or 0, 0)

    # 3. closed deals: first-pass yield and win rate
    closed = closed_facts_qs(segment, start, end, windows).aggregate(
        n_closed=Count("pk"),
        n_won=Count("pk", filter=Q(won=True)),
        n_fp=Count("pk", filter=Q(won=True, regressed=False)),
    )
    summary.closed = closed["n_closed"] or 0
    summary.won, summary.first_pass = closed["n_won"] or 0, closed["n_fp"] or 0
    if summary.closed:
        summary.first_pass_yield = summary.first_pass / summary.closed
        summary.win_rate = summary.won / summary.closed

    bottleneck, _p80, _n = _bottleneck(per_stage, stages)
    summary.bottleneck_stage_id = bottleneck
    for s in stages:
        if s.kind != StageKind.OPEN and s.pk not in per_stage and s.pk not in wip:
            continue
        values = per_stage.get(s.pk, [])
        k = kinds.get(s.pk, {})
        fig = StageFigures(stage_id=s.pk, name=str(s), position=s.position, exits=len(values))
        fig.p50, fig.p80, fig.p95 = _pcts(values)
        fig.forward, fig.back = k.get(ExitKind.FORWARD, 0), k.get(ExitKind.BACK, 0)
        fig.won, fig.lost = k.get(ExitKind.WON, 0), k.get(ExitKind.LOST, 0)
        if values:
            fig.mean_days = sum(values) / len(values) / DAY
            fig.conversion = (fig.forward + fig.won) / len(values)
            fig.regression_rate = fig.back / len(values)
        w = wip.get(s.pk, {})
        fig.wip_now = int(w.get("now") or 0)
        if span:
            fig.throughput_per_week = len(values) / span * WEEK
            fig.wip_avg = float(w.get("inside") or 0) / span
            fig.little_rhs = sum(values) / span  # (exits / span) × mean seconds
            fig.little_ratio = fig.wip_avg / fig.little_rhs if fig.little_rhs else None
        fig.bottleneck = s.pk == bottleneck
        summary.stages.append(fig)

    # 4. names, then the group tables and each segment's bottleneck
    stage_names = {s.pk: str(s) for s in stages}
    names: dict[str, dict[str, str]] = {
        "rep": {str(k): v for k, v in user_names({int(k) for k, _s in grouped["rep"] if k}).items()},
        "team": {str(t.pk): t.name for t in Team.objects.filter(pk__in={int(k) for k, _s in grouped["team"] if k})},
        "region": {
            str(t.pk): str(t) for t in Territory.objects.filter(pk__in={int(k) for k, _s in grouped["region"] if k})
        },
    }
    for dim in DIMENSIONS:
        labels = _labels(dim, {k for k, _s in grouped[dim]}, names)
        by_key: dict[str, dict[int, list[float]]] = defaultdict(dict)
        rows_out: list[GroupRow] = []
        for (key, stage_id), values in grouped[dim].items():
            by_key[key][stage_id] = values
        for key in sorted(by_key, key=lambda k: (labels[k], k)):
            for s in open_stages:
                found = by_key[key].get(s.pk)
                if not found:
                    continue
                p50, p80, p95 = _pcts(found)
                rows_out.append(GroupRow(dim, key, labels[key], s.pk, stage_names[s.pk], len(found), p50, p80, p95))
            if dim in SEGMENT_DIMENSIONS:
                sid, p80, n = _bottleneck(by_key[key], stages)
                summary.bottlenecks.append(
                    BottleneckRow(dim, key, labels[key], sid, stage_names.get(sid, "") if sid else "", p80, n)
                )
        summary.groups[dim] = rows_out
    return summary


# ---------------------------------------------------------------------------- control charts


@dataclass(frozen=True)
class ControlPoint:
    """One week (its Monday): the mean of the week's observations and how many there were;
    ``rules`` are the Western Electric rules the point breaks (empty when in control)."""

    week: date
    value: float
    n: int
    rules: tuple[int, ...] = ()


@dataclass(frozen=True)
class ControlChart:
    """An individuals (XmR) chart of weekly points. ``unit`` is ``days`` (cycle time, time
    in stage) or ``rate`` (0–1). ``limits`` come from the points within ``limits_from``
    when given (a baseline phase), else from all points; ``None`` with fewer than two."""

    metric_key: str
    unit: str
    start: date
    end: date
    stage_id: int | None
    points: list[ControlPoint]
    limits: XmR | None
    signals: list[Signal]
    limits_from: tuple[date, date] | None = None

    @property
    def lcl_shown(self) -> float | None:
        """The lower limit as drawn: never below 0 (no measure here is negative)."""
        return None if self.limits is None else max(self.limits.lcl, 0.0)


def _weekly(
    metric_key: str, segment: Segment, start: date, end: date, stage_id: int | None
) -> list[tuple[date, float, int]]:
    """(week, mean, n) per week with at least one observation, by week: one grouped query."""
    if metric_key in ("cycle_time", "win_rate"):
        qs = closed_facts_qs(segment, start, end)
        if metric_key == "cycle_time":
            rows = qs.filter(won=True).values("close_week").annotate(n=Count("pk"), total=Sum("cycle_days"))
        else:
            rows = qs.values("close_week").annotate(n=Count("pk"), total=Count("pk", filter=Q(won=True)))
        found = [(r["close_week"], float(r["total"] or 0), int(r["n"])) for r in rows.order_by()]
    else:
        qs = exits_qs(segment, start, end)
        if stage_id is not None:
            qs = qs.filter(stage_id=stage_id)
        if metric_key == "time_in_stage":
            rows = qs.values("exit_week").annotate(n=Count("pk"), total=Sum("duration_seconds"))
            found = [(r["exit_week"], float(r["total"] or 0) / DAY, int(r["n"])) for r in rows.order_by()]
        else:
            rows = qs.values("exit_week").annotate(n=Count("pk"), total=Count("pk", filter=Q(kind=ExitKind.BACK)))
            found = [(r["exit_week"], float(r["total"] or 0), int(r["n"])) for r in rows.order_by()]
    return sorted((week, total / n, n) for week, total, n in found if n)


def control_chart(
    metric_key: str,
    segment: Segment,
    start: date,
    end: date,
    stage_id: int | None = None,
    limits_from: tuple[date, date] | None = None,
) -> ControlChart:
    """The weekly XmR chart of ``metric_key`` (a ``PROCESS_METRICS`` key) for the segment
    over ``[start, end]`` (observations by their day; weeks keyed by Monday).

    ``KeyError`` for an unknown metric, ``ValueError`` when the metric needs a stage and
    none is given. ``limits_from=(a, b)`` computes the limits from the weeks whose Monday
    lies in ``[a, b]`` (the improvement app's baseline or control phase) and judges every
    point against them. The readings are the fact tables (as of their last refresh)."""
    metric = PROCESS_METRICS[metric_key]
    if metric.needs_stage and stage_id is None:
        raise ValueError("stage")
    weekly = _weekly(metric_key, segment, start, end, stage_id)
    values = [v for _w, v, _n in weekly]
    basis = values if limits_from is None else [v for w, v, _n in weekly if limits_from[0] <= w <= limits_from[1]]
    limits = xmr(basis)
    signals = western_electric(values, limits.centre, limits.sigma) if limits is not None else []
    rules = {s.index: s.rules for s in signals}
    points = [ControlPoint(w, v, n, rules.get(i, ())) for i, (w, v, n) in enumerate(weekly)]
    return ControlChart(
        metric_key=metric_key,
        unit="rate" if metric.unit == "rate" else "days",
        start=start,
        end=end,
        stage_id=stage_id,
        points=points,
        limits=limits,
        signals=signals,
        limits_from=limits_from,
    )
