"""What the process pages and API show, as plain JSON-ready data (issue 11 item 4): the
summary tables, their charts (``dashboards.charts.Chart``) and the control charts, kept in a
:class:`~salesflow.process.models.ProcessSnapshot` with the time they were computed.

Readers wait for a computation only when no snapshot exists for their filters and language
(:func:`cached`): a snapshot younger than :data:`SNAPSHOT_MAX_AGE` and computed today is served
as it is; an older one (or yesterday's) is served as it is too — the page and the API show its
computed time — while one background recomputation is enqueued (``process.tasks.refresh_view``,
at most once per :data:`REFRESH_RETRY` however many readers ask: ``core.scheduling.enqueue_once``).
At bench scale 1.0 a computation takes an administrator 1–1.8 s, a snapshot read < 100 ms."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesflow.core.stats import RULE_TEXT
from salesflow.dashboards.cache import chart_dict
from salesflow.dashboards.charts import Chart, Column, Series
from salesflow.process.facts import refreshed_at
from salesflow.process.forms import ProcessFilters
from salesflow.process.models import ProcessSnapshot
from salesflow.process.observations import PROCESS_METRICS, Segment
from salesflow.process.selectors import ControlChart, ProcessSummary, control_chart, process_summary
from salesflow.sales.models import Pipeline

#: a snapshot older than this (or computed on an earlier day) is served while a refresh is enqueued
SNAPSHOT_MAX_AGE = timedelta(minutes=15)
#: a view's background refresh is enqueued at most once per this interval (a failed one is retried after it)
REFRESH_RETRY = timedelta(minutes=10)
#: the control chart on the process page: this many weeks up to the period's end
CONTROL_WEEKS = 26

RULES_ZH = {
    1: "1 个点超出 3σ",
    2: "连续 3 点中有 2 点在同侧超出 2σ",
    3: "连续 5 点中有 4 点在同侧超出 1σ",
    4: "连续 8 点在中心线同侧",
}


def rule_text(rule: int) -> str:
    lang = translation.get_language() or ""
    return RULES_ZH[rule] if lang.startswith("zh") else RULE_TEXT[rule]


def _d(value: float | None, places: str = "0.01") -> Decimal | None:
    return None if value is None else Decimal(repr(value)).quantize(Decimal(places), ROUND_HALF_UP)


def _pct(value: float | None) -> Decimal | None:
    return None if value is None else _d(value * 100, "0.1")


def _num(value: Any) -> Decimal | int | None:
    return value if value is None or isinstance(value, Decimal | int) else Decimal(str(value))


def with_pipeline(segment: Segment, pipeline: Pipeline | None) -> Segment:
    if pipeline is None or segment.filters.pipeline_ids:
        return segment
    return replace(segment, filters=replace(segment.filters, pipeline_ids=(pipeline.pk,)))


# ------------------------------------------------------------------------------ charts


def stage_time_chart(s: ProcessSummary) -> Chart:
    rows = [
        [f.name, f.exits, _d(f.p50), _d(f.p80), _d(f.p95), _pct(f.conversion), _pct(f.regression_rate)]
        for f in s.stages
    ]
    return Chart(
        key="stage_time",
        title=_("Time in stage (days)"),
        columns=[
            Column(_("Stage")),
            Column(_("Exits"), "int"),
            Column("P50", "days"),
            Column("P80", "days"),
            Column("P95", "days"),
            Column(_("Stage conversion %"), "percent"),
            Column(_("Regression rate %"), "percent"),
        ],
        rows=rows,
        categories=[f.name for f in s.stages],
        series=[
            Series("P50", [_num(r[2]) for r in rows]),
            Series("P80", [_num(r[3]) for r in rows]),
            Series("P95", [_num(r[4]) for r in rows]),
        ],
    )


def flow_chart(s: ProcessSummary) -> Chart:
    rows = [
        [
            f.name + (" ★" if f.bottleneck else ""),
            _d(f.throughput_per_week),
            f.wip_now,
            _d(f.wip_avg),
            _d(f.mean_days),
            _d(f.little_rhs),
            _d(f.little_ratio),
        ]
        for f in s.stages
    ]
    return Chart(
        key="flow",
        title=_("Throughput, WIP and Little's law"),
        columns=[
            Column(_("Stage")),
            Column(_("Exits per week"), "int"),
            Column(_("WIP now"), "int"),
            Column(_("Average WIP"), "int"),
            Column(_("Average days in stage"), "days"),
            Column(_("Throughput × time"), "int"),
            Column(_("Ratio"), "int"),
        ],
        rows=rows,
        categories=[f.name for f in s.stages],
        series=[
            Series(_("WIP now"), [_num(r[2]) for r in rows]),
            Series(_("Average WIP"), [_num(r[3]) for r in rows]),
            Series(_("Throughput × time"), [_num(r[5]) for r in rows], type="line"),
        ],
        note=_(
            "Little's law: average WIP = throughput × average time in stage. A ratio near 1 means the "
            "stage is in a steady state over the period; far from 1, stays that began before the "
            "period or are still going on weigh in."
        ),
    )


def control_chart_view(c: ControlChart, key: str, title: str) -> Chart:
    """A control chart as a dashboards ``Chart``: the weekly line with UCL/CL/LCL mark lines
    and the flagged points as a red scatter series; the table lists every week."""
    rate = c.unit == "rate"

    def shown(v: float | None) -> Decimal | None:
        return _pct(v) if rate else _d(v)

    values: list[Decimal | int | None] = [shown(p.value) for p in c.points]
    flagged: list[Decimal | int | None] = [shown(p.value) if p.rules else None for p in c.points]
    lines: list[dict[str, Any]] = []
    if c.limits is not None:
        for name, y in (("UCL", c.limits.ucl), ("CL", c.limits.centre), ("LCL", c.lcl_shown)):
            lines.append({"name": name, "yAxis": str(shown(y)), "label": {"formatter": f"{name} {{c}}"}})
    rows = [
        [
            p.week.isoformat(),
            p.n,
            shown(p.value),
            "; ".join(f"{r}: {rule_text(r)}" for r in p.rules),
        ]
        for p in c.points
    ]
    unit = _("Win rate %") if rate else _("Days")
    return Chart(
        key=key,
        title=title,
        columns=[
            Column(_("Week of")),
            Column(_("Cases"), "int"),
            Column(unit, "percent" if rate else "days"),
            Column(_("Rules broken")),
        ],
        rows=rows,
        categories=[p.week.isoformat() for p in c.points],
        series=[
            Series(
                unit,
                values,
                type="line",
                echarts={
                    "markLine": {"symbol": "none", "silent": True, "lineStyle": {"type": "dashed"}, "data": lines},
                },
            ),
            Series(
                _("Out of control"),
                flagged,
                type="scatter",
                echarts={"symbolSize": 14, "itemStyle": {"color": "#d63939"}, "z": 5},
            ),
        ]
        if c.points
        else [],
        echarts={"yAxis": {"type": "value", "scale": True}},
        note=_(
            "One point per week (Monday): the mean of the week's cases. Limits: XmR (centre ± 2.66 × "
            "average moving range); red points break a Western Electric rule."
        ),
    )


def control_data(c: ControlChart, key: str, title: str) -> dict[str, Any]:
    """The control chart as JSON: the chart, the limits and the flagged points."""
    rate = c.unit == "rate"
    limits = None
    if c.limits is not None:
        limits = {
            "centre": c.limits.centre,
            "ucl": c.limits.ucl,
            "lcl": c.limits.lcl,
            "lcl_shown": c.lcl_shown,
            "sigma": c.limits.sigma,
            "mr_bar": c.limits.mr_bar,
            "n": c.limits.n,
        }
    return {
        "metric": c.metric_key,
        "unit": c.unit,
        "stage_id": c.stage_id,
        "start": c.start.isoformat(),
        "end": c.end.isoformat(),
        "limits": limits,
        "points": [{"week": p.week.isoformat(), "value": p.value, "n": p.n, "rules": list(p.rules)} for p in c.points],
        "signals": [
            {
                "week": c.points[s.index].week.isoformat(),
                "value": (_pct(c.points[s.index].value) if rate else _d(c.points[s.index].value)),
                "rules": [{"rule": r, "text": rule_text(r)} for r in s.rules],
            }
            for s in c.signals
        ],
        "chart": chart_dict(control_chart_view(c, key, title)),
    }


def control_range(end: date, weeks: int = CONTROL_WEEKS) -> tuple[date, date]:
    today = timezone.localdate()
    last = min(end, today)
    return last - timedelta(days=7 * weeks - 1), last


def summary_data(f: ProcessFilters) -> dict[str, Any]:
    a = f.analysis
    segment = with_pipeline(f.segment, f.pipeline)
    s = process_summary(segment, a.period.start, a.period.end, pipeline=f.pipeline)
    start, end = control_range(a.period.end)
    control = control_chart("cycle_time", segment, start, end)
    data: dict[str, Any] = {
        "summary": json.loads(json.dumps(asdict(s), default=str)),
        "charts": [chart_dict(stage_time_chart(s)), chart_dict(flow_chart(s))],
        "control": control_data(control, "control_cycle_time", _("Cycle time of won deals, by week")),
    }
    return data


def control_page_data(f: ProcessFilters) -> dict[str, Any]:
    a = f.analysis
    segment = with_pipeline(f.segment, f.pipeline)
    out: list[dict[str, Any]] = []
    wanted: list[tuple[str, int | None]] = [("cycle_time", None), ("win_rate", None)]
    if f.metric not in ("cycle_time", "win_rate"):
        wanted.insert(0, (f.metric, f.stage.pk if f.stage else None))
    for metric, stage_id in wanted:
        c = control_chart(metric, segment, a.period.start, a.period.end, stage_id=stage_id)
        title = str(PROCESS_METRICS[metric].label)
        if stage_id and f.stage is not None:
            title = f"{title} · {f.stage}"
        out.append(control_data(c, f"control_{metric}", title))
    return {"controls": out}


# ------------------------------------------------------------------------------ snapshots


def _key(kind: str, params: dict[str, str]) -> str:
    """The digest of the page kind, the cleaned filters and the language (the figures hold
    translated text); not the day: yesterday's figures for the same filters are the stale
    answer served while today's are computed."""
    raw = json.dumps([kind, sorted(params.items()), translation.get_language() or ""])
    return hashlib.sha256(raw.encode()).hexdigest()


def _compute(kind: str, f: ProcessFilters) -> dict[str, Any]:
    data = summary_data(f) if kind == "summary" else control_page_data(f)
    at = refreshed_at()
    data["computed_at"] = timezone.now().isoformat()
    data["facts_at"] = at.isoformat() if at else None
    return dict(json.loads(json.dumps(data, default=str)))


def _store(key: str, data: dict[str, Any]) -> None:
    try:
        with transaction.atomic():
            ProcessSnapshot.objects.update_or_create(key=key, defaults={"data": data, "computed_at": timezone.now()})
    except IntegrityError:  # a concurrent request stored it first: theirs is as fresh
        pass


def is_fresh(computed_at: Any) -> bool:
    """Whether a snapshot computed at ``computed_at`` is served without a refresh: younger
    than :data:`SNAPSHOT_MAX_AGE` and computed today (a rolling window moves with the day)."""
    now = timezone.now()
    return bool(computed_at >= now - SNAPSHOT_MAX_AGE and timezone.localdate(computed_at) == timezone.localdate(now))


def request_refresh(kind: str, f: ProcessFilters, stale_since: Any) -> bool:
    """Enqueue the background recomputation of ``kind`` for the filters ``f`` in the active
    language, once for the same view and stored version per :data:`REFRESH_RETRY`; ``True``
    if this call enqueued it."""
    from salesflow.core.scheduling import enqueue_once, time_bucket
    from salesflow.process.tasks import refresh_view

    language = translation.get_language() or ""
    version = int(stale_since.timestamp())
    return enqueue_once(
        "process.refresh_view",
        f"{_key(kind, f.params)[:16]}-{version}-{time_bucket(REFRESH_RETRY)}",
        refresh_view,
        kind=kind,
        params=dict(f.params),
        language=language,
    )


def cached(kind: str, f: ProcessFilters, *, fresh: bool = False) -> dict[str, Any]:
    """The page data for the filters (already checked for the reader) in the active language.
    Adds ``computed_at`` and ``facts_at`` (the fact tables' last refresh).

    - a fresh snapshot (:func:`is_fresh`): served;
    - an older one: served as it is (its ``computed_at`` says how old), and one background
      refresh enqueued (:func:`request_refresh`);
    - none, or ``fresh=True`` (the background refresh itself): computed now and stored.
    """
    key = _key(kind, f.params)
    if not fresh:
        snap = ProcessSnapshot.objects.filter(key=key).first()
        if snap is not None:
            if not is_fresh(snap.computed_at):
                request_refresh(kind, f, snap.computed_at)
            return dict(snap.data)
    data = _compute(kind, f)
    _store(key, data)
    return data


def refresh_defaults() -> int:
    """Keep warm the views readers open first: the company's and every team's process page and
    control page with no other filter (what ``/process/`` and ``/process/control/`` show a
    reader whose widest node that is), in every configured language. A view whose snapshot is
    fresh (:func:`is_fresh`) is left alone. Run by the 10-minute ``process.refresh_facts`` job
    after the facts, so an administrator's or a manager's first look never computes in the
    request. Returns the number of views computed."""
    from django.conf import settings

    from salesflow.process.forms import ControlFilterForm, ProcessFilterForm
    from salesflow.users.models import Team
    from salesflow.users.services import system_actor

    actor = system_actor()
    nodes = ["company", *(f"team:{pk}" for pk in Team.objects.order_by("pk").values_list("pk", flat=True))]
    year = str(timezone.localdate().year)  # the control page's default period (its view's)
    computed = 0
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for node in nodes:
                views: list[tuple[str, ProcessFilterForm]] = [
                    ("summary", ProcessFilterForm({"node": node}, user=actor)),
                    ("control", ControlFilterForm({"node": node, "period": year}, user=actor)),
                ]
                for kind, form in views:
                    if not form.is_valid():
                        continue
                    f = form.process()
                    snap = ProcessSnapshot.objects.filter(key=_key(kind, f.params)).only("computed_at").first()
                    if snap is not None and is_fresh(snap.computed_at):
                        continue
                    cached(kind, f, fresh=True)
                    computed += 1
    return computed
