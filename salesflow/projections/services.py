"""Writes of the revenue forecast: computing and storing :class:`ForecastRun` rows (the job's
work) and an administrator's request to recompute them now.

The series of a node: the registry metric (``won_revenue`` or ``collections``) summed per
complete period — calendar months (the last :data:`MONTHS` before the current month) or
Monday–Sunday weeks (the last :data:`WEEKS` before the current week) — from ONE facts query
per (metric, node) over the whole span (``analytics.selectors.facts_for``, team at the time,
company currency). The current, incomplete period is left out. Periods before the first
non-zero one are dropped (a company's history starts with its first sale), later empty
periods count as 0. Then :func:`salesflow.projections.backtest.backtest` picks the model and
:func:`~salesflow.projections.backtest.forecast` fits it on the whole series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from salesflow.analytics.selectors import Node, facts_for
from salesflow.core.audit import record_event
from salesflow.core.errors import Forbidden
from salesflow.core.tasks import enqueue_on_commit
from salesflow.projections import backtest as bt
from salesflow.projections.choices import FOLDS, FREQS, HORIZON, METRICS, MONTHS, NOTE_NO_HISTORY, NOTE_TRIMMED, WEEKS
from salesflow.projections.models import ForecastRun
from salesflow.users.models import Team, User

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Span:
    """The complete periods of one frequency: period starts, oldest first."""

    freq: str
    periods: list[date]

    @property
    def start(self) -> date:
        return self.periods[0]


def spans(today: date) -> dict[str, Span]:
    """The monthly and weekly spans that end before the period holding ``today``."""
    this_month = today.replace(day=1)
    first_month = this_month
    for _ in range(MONTHS):
        first_month = (first_month - timedelta(days=1)).replace(day=1)
    this_week = today - timedelta(days=today.weekday())
    first_week = this_week - timedelta(weeks=WEEKS)
    return {
        "M": Span("M", bt.period_range(first_month, this_month - timedelta(days=1), "M")),
        "W": Span("W", bt.period_range(first_week, this_week - timedelta(days=1), "W")),
    }


def series_by_freq(metric: str, node: Node, today: date) -> dict[str, list[Decimal]]:
    """The metric per complete period for both frequencies, from one facts query."""
    periods = spans(today)
    start = min(s.start for s in periods.values())
    end = today - timedelta(days=1)
    out: dict[str, dict[date, Decimal]] = {f: dict.fromkeys(s.periods, Decimal(0)) for f, s in periods.items()}
    if end >= start:
        for row in facts_for(metric, node, start, end).rows:
            for freq, cells in out.items():
                key = bt.period_start(row.day, freq)
                if key in cells:
                    cells[key] += Decimal(row.value)
    return {freq: [cells[p] for p in periods[freq].periods] for freq, cells in out.items()}


def _money(value: float | Decimal) -> str:
    return str(Decimal(str(value)).quantize(CENT, ROUND_HALF_UP))


def build_run(metric: str, node_key: str, freq: str, periods: list[date], values: list[Decimal]) -> dict[str, Any]:
    """The fields of a :class:`ForecastRun` for one series (pure apart from the model fits)."""
    horizon = HORIZON[freq]
    notes: list[str] = []
    first = next((i for i, v in enumerate(values) if v != 0), None)
    fields: dict[str, Any] = {
        "horizon": horizon,
        "folds": 0,
        "chosen": "",
        "baseline": "",
        "beat_baseline": False,
        "table": [],
        "history": [],
        "forecast": [],
        "level": bt.LEVEL,
    }
    if first is None:
        fields["notes"] = [NOTE_NO_HISTORY]
        return fields
    if first > 0:
        notes.append(NOTE_TRIMMED)
    periods, values = periods[first:], values[first:]
    fields["history"] = [[p.isoformat(), _money(v)] for p, v in zip(periods, values, strict=True)]
    floats = [float(v) for v in values]
    try:
        result = bt.backtest(floats, freq, horizon, FOLDS[freq])
    except bt.SeriesError:
        fields["notes"] = [*notes, NOTE_NO_HISTORY]
        return fields
    if 0.0 in floats[1:-1]:
        notes.append(bt.NOTE_FILLED)
    fc = bt.forecast(floats, freq, result.chosen, horizon)
    future = bt.future_periods(periods[-1], freq, horizon)
    fields.update(
        folds=result.folds,
        chosen=result.chosen,
        baseline=result.baseline,
        beat_baseline=result.beat_baseline,
        table=[{**m.as_dict(), "mae": m.mae, "baseline": m.baseline} for m in result.models],
        forecast=[
            [
                p.isoformat(),
                _money(fc.mean[i]),
                None if fc.lo is None else _money(fc.lo[i]),
                None if fc.hi is None else _money(fc.hi[i]),
            ]
            for i, p in enumerate(future)
        ],
        notes=[*notes, *result.notes],
    )
    return fields


def forecast_nodes() -> list[Node]:
    """The company and every team (the nodes a forecast is kept for)."""
    return [Node("company"), *(Node("team", t.pk, t.name) for t in Team.objects.order_by("pk"))]


def compute_node(node: Node, today: date | None = None, metrics: tuple[str, ...] = METRICS) -> list[ForecastRun]:
    """Recompute and store the forecasts of ``node`` (every metric and frequency). Idempotent:
    each (node, metric, frequency) row is overwritten."""
    today = today or timezone.localdate()
    grid = spans(today)
    runs: list[ForecastRun] = []
    for metric in metrics:
        by_freq = series_by_freq(metric, node, today)
        for freq in FREQS:
            fields = build_run(metric, node.key, freq, grid[freq].periods, by_freq[freq])
            fields["computed_at"] = timezone.now()
            run, _created = ForecastRun.objects.update_or_create(
                node_key=node.key, metric=metric, freq=freq, defaults=fields
            )
            runs.append(run)
    return runs


def compute_all(today: date | None = None) -> int:
    """Recompute the forecasts of the company and every team; drop runs of teams that no
    longer exist. Returns the number of runs written."""
    nodes = forecast_nodes()
    written = sum(len(compute_node(node, today)) for node in nodes)
    ForecastRun.objects.exclude(node_key__in=[n.key for n in nodes]).delete()
    return written


def forecast_recompute(actor: User) -> str:
    """An administrator asks for every forecast to be recomputed now: enqueues
    ``projections.tasks.compute_forecasts`` after the commit and records
    ``projections.forecast.recompute_requested``. Anyone else: ``Forbidden`` (403)."""
    if not actor.is_admin:
        raise Forbidden("Only administrators can recompute the revenue forecasts.")
    from salesflow.projections.tasks import compute_forecasts

    job = f"manual-{timezone.now().isoformat()}"
    with transaction.atomic():
        record_event(
            actor=actor,
            verb="projections.forecast.recompute_requested",
            target=actor,
            data={"job": job},
        )
        enqueue_on_commit(compute_forecasts, slot=job)
    return job
