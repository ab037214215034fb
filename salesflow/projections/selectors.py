"""Reads of the revenue forecast: which nodes a reader may pick, the stored run of a choice,
and the run as a chart and a table (the page and the API show the same).

Constant cost: the reader's nodes (``analytics.selectors.nodes_visible_to``, two queries) and
one indexed query for the run (unique key node, metric, frequency).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from salesflow.analytics.selectors import Node, node_for_user, visible_team_ids
from salesflow.core.errors import ValidationFailed
from salesflow.dashboards.charts import Chart, Column, Series
from salesflow.projections import backtest as bt
from salesflow.projections.choices import FREQS, METRICS, NOTE_NO_HISTORY, NOTE_TRIMMED
from salesflow.projections.models import ForecastRun
from salesflow.users.models import Team, User

METRIC_LABELS = {
    "won_revenue": pgettext_lazy("revenue forecast", "Won revenue"),
    "collections": pgettext_lazy("revenue forecast", "Collections"),
}
FREQ_LABELS = {"M": gettext_lazy("Per month"), "W": gettext_lazy("Per week")}
MODEL_LABELS = {
    bt.NAIVE: gettext_lazy("Naive (last value)"),
    bt.SEASONAL_NAIVE: gettext_lazy("Seasonal naive (same period last season)"),
    "AutoETS": gettext_lazy("Exponential smoothing (AutoETS)"),
    "AutoARIMA": gettext_lazy("ARIMA (AutoARIMA)"),
    "CrostonOptimized": gettext_lazy("Croston (sparse series)"),
}
NOTE_LABELS = {
    bt.NOTE_FILLED: gettext_lazy("Periods without any amount count as 0."),
    bt.NOTE_TOO_SHORT: gettext_lazy("The history is too short for the models: only the baselines were compared."),
    bt.NOTE_FEWER_FOLDS: gettext_lazy(
        "The history holds fewer backtest folds than usual; the folds column says how many ran."
    ),
    bt.NOTE_NO_SEASONAL: gettext_lazy("Seasonal naive was not run: the history holds less than one full season."),
    bt.NOTE_MAPE_ZEROS: gettext_lazy("MAPE leaves out periods whose actual is 0."),
    bt.NOTE_NOT_BEATEN: gettext_lazy(
        "No model beat the better baseline in the backtest, so no model is offered: the forecast is the baseline."
    ),
    bt.NOTE_INTERMITTENT: gettext_lazy("The history is sparse: a Croston-type model was included."),
    bt.NOTE_MODEL_FAILED: gettext_lazy("A model could not be fitted and was left out."),
    NOTE_NO_HISTORY: gettext_lazy("There is not enough history to forecast yet."),
    NOTE_TRIMMED: gettext_lazy("The history starts at the first period with an amount."),
}


@dataclass(frozen=True)
class Choice:
    """What the reader asked for: a metric, a frequency and a node they may see."""

    metric: str
    freq: str
    node: Node

    @property
    def params(self) -> dict[str, str]:
        return {"metric": self.metric, "freq": self.freq, "node": self.node.key}


def forecast_nodes_for(user: User) -> list[Node]:
    """The nodes with forecasts that ``user`` may see, by the rules of
    ``analytics.selectors.nodes_visible_to`` for the company and teams (never people):
    administrators the company and every team, managers the teams they manage, everyone
    else none. One query."""
    teams = visible_team_ids(user)
    nodes: list[Node] = [Node("company")] if teams is None else []
    if teams is not None and not teams:
        return nodes
    team_qs = Team.objects.order_by("name", "pk")
    if teams is not None:
        team_qs = team_qs.filter(pk__in=teams)
    nodes.extend(Node("team", t.pk, t.name) for t in team_qs.only("pk", "name"))
    return nodes


def parse_choice(user: User, metric: str, freq: str, node_key: str, nodes: list[Node]) -> Choice | None:
    """The reader's choice. A blank value takes the default (won revenue, per month, the
    widest node); an unknown metric or frequency is ``ValidationFailed`` naming the field; a
    node the reader may not see is ``Http404`` (as ``analytics.selectors.node_for_user``).
    ``None`` when the reader sees no node with a forecast (reps, support)."""
    errors: dict[str, list[str]] = {}
    metric = metric or METRICS[0]
    freq = freq or FREQS[0]
    if metric not in METRICS:
        errors["metric"] = [_("Choose won_revenue or collections.")]
    if freq not in FREQS:
        errors["freq"] = [_("Choose M (per month) or W (per week).")]
    if errors:
        raise ValidationFailed(_("Check the choices."), field_errors=errors)
    if not node_key:
        if not nodes:
            return None
        return Choice(metric, freq, nodes[0])
    node = node_for_user(user, node_key)
    if node.kind == "rep":
        raise Http404
    return Choice(metric, freq, node)


def run_for(choice: Choice) -> ForecastRun | None:
    """The stored run of the choice (one query), ``None`` before the job has computed it."""
    return ForecastRun.objects.filter(node_key=choice.node.key, metric=choice.metric, freq=choice.freq).first()


def period_label(iso: str, freq: str) -> str:
    """``2026-03`` for a month, ``2026-03-02`` (the Monday) for a week."""
    return iso[:7] if freq == "M" else iso


def forecast_chart(run: ForecastRun) -> Chart:
    """History and forecast on one axis: the actual line, the forecast line (starting from
    the last actual so they join) and the 80% interval as a shaded band (a transparent lower
    bound with the width stacked on it)."""
    freq = run.freq
    history: list[list[str]] = run.history
    future: list[list[str | None]] = run.forecast
    cats = [period_label(h[0], freq) for h in history] + [period_label(str(f[0]), freq) for f in future]
    n_hist = len(history)
    actual: list[Decimal | int | None] = [*(Decimal(h[1]) for h in history), *([None] * len(future))]
    fc: list[Decimal | int | None] = [*([None] * n_hist), *(Decimal(str(f[1])) for f in future)]
    if n_hist and future:
        fc[n_hist - 1] = Decimal(history[-1][1])
    series = [
        Series(name=str(_("Actual")), data=actual, type="line"),
        Series(
            name=str(_("Forecast")),
            data=fc,
            type="line",
            echarts={"lineStyle": {"type": "dashed"}},
        ),
    ]
    has_band = bool(future) and all(f[2] is not None and f[3] is not None for f in future)
    if has_band:
        lo = [None] * n_hist + [Decimal(str(f[2])) for f in future]
        width = [None] * n_hist + [Decimal(str(f[3])) - Decimal(str(f[2])) for f in future]
        band = str(_("%(level)s%% interval") % {"level": run.level})
        series += [
            Series(
                name=band,
                data=list(lo),
                type="line",
                stack="band",
                echarts={
                    "lineStyle": {"opacity": 0},
                    "symbol": "none",
                    "areaStyle": {"opacity": 0},
                    "tooltip": {"show": False},
                },
            ),
            Series(
                name=band,
                data=list(width),
                type="line",
                stack="band",
                echarts={
                    "lineStyle": {"opacity": 0},
                    "symbol": "none",
                    "areaStyle": {"opacity": 0.2},
                    "tooltip": {"show": False},
                },
            ),
        ]
    rows: list[list[Any]] = [[period_label(h[0], freq), Decimal(h[1]), None, None, None] for h in history]
    rows += [
        [
            period_label(str(f[0]), freq),
            None,
            Decimal(str(f[1])),
            None if f[2] is None else Decimal(str(f[2])),
            None if f[3] is None else Decimal(str(f[3])),
        ]
        for f in future
    ]
    return Chart(
        key="revenue_forecast",
        title=str(
            _("%(metric)s, %(freq)s")
            % {"metric": METRIC_LABELS.get(run.metric, run.metric), "freq": FREQ_LABELS.get(freq, freq)}
        ),
        columns=[
            Column(_("Period")),
            Column(_("Actual"), "money"),
            Column(_("Forecast"), "money"),
            Column(_("Low (%(level)s%%)") % {"level": run.level}, "money"),
            Column(_("High (%(level)s%%)") % {"level": run.level}, "money"),
        ],
        rows=rows,
        categories=cats,
        series=series,
    )


@dataclass(frozen=True)
class TableRow:
    """One model's line of the backtest table."""

    name: str
    label: str
    mape: float | None
    smape: float | None
    mase: float | None
    folds: int
    baseline: bool
    chosen: bool


def backtest_rows(run: ForecastRun) -> list[TableRow]:
    """The backtest table of a run, baselines first, the chosen model marked."""
    return [
        TableRow(
            name=str(m["name"]),
            label=str(MODEL_LABELS.get(str(m["name"]), m["name"])),
            mape=m.get("mape"),
            smape=m.get("smape"),
            mase=m.get("mase"),
            folds=int(m.get("folds") or 0),
            baseline=bool(m.get("baseline")),
            chosen=m["name"] == run.chosen,
        )
        for m in run.table
    ]


def note_texts(run: ForecastRun) -> list[str]:
    """The run's notes in the reader's language."""
    return [str(NOTE_LABELS.get(code, code)) for code in run.notes]


def run_summary(run: ForecastRun) -> dict[str, Any]:
    """The API/JSON view of a run (amounts as decimal strings)."""
    return {
        "node": run.node_key,
        "metric": run.metric,
        "freq": run.freq,
        "computed_at": run.computed_at.isoformat(),
        "horizon": run.horizon,
        "folds": run.folds,
        "chosen": run.chosen,
        "baseline": run.baseline,
        "beat_baseline": run.beat_baseline,
        "level": run.level,
        "models": [
            {"name": r.name, "mape": r.mape, "smape": r.smape, "mase": r.mase, "folds": r.folds, "baseline": r.baseline}
            for r in backtest_rows(run)
        ],
        "history": [{"period": h[0], "amount": h[1]} for h in run.history],
        "forecast": [{"period": f[0], "mean": f[1], "lo": f[2], "hi": f[3]} for f in run.forecast],
        "notes": list(run.notes),
        "note_texts": note_texts(run),
    }
