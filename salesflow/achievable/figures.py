"""What the page and the API show, built from a stored snapshot and the calibration: the
headline figures, the distribution chart, the per-stage table and the reliability diagram
(``dashboards.charts.Chart``, drawn by ``dashboards/charts.js``; the same ``Chart`` is the
table view and the CSV/XLSX export)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.utils.translation import gettext as _

from salesflow.achievable.models import Calibration, RevenueSnapshot
from salesflow.dashboards.charts import Chart, Column, Series
from salesflow.sales.models import Stage

CENT = Decimal("0.01")


def money(value: float) -> Decimal:
    """A simulated amount as money: 2 places, half-up (figures are floats inside numpy)."""
    return Decimal(repr(float(value))).quantize(CENT, ROUND_HALF_UP)


def pct(fraction: float | None) -> Decimal | None:
    """A 0–1 fraction as a percentage with one decimal."""
    if fraction is None:
        return None
    return (Decimal(repr(float(fraction))) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Headline:
    """The figures of one node and period (company currency)."""

    period: str
    node: str
    closed: Decimal
    closed_count: int
    p10: Decimal
    p50: Decimal
    p90: Decimal
    mean: Decimal
    configured_ev: Decimal
    open_deals: int
    simulated: int
    n_sims: int
    seed: int
    missing_rates: list[str]
    computed_at: datetime
    calibration_computed_at: str


def headline(snap: RevenueSnapshot) -> Headline:
    d = snap.data
    return Headline(
        period=d["period"],
        node=d["node"],
        closed=money(d["closed"]),
        closed_count=int(d["closed_count"]),
        p10=money(d["p10"]),
        p50=money(d["p50"]),
        p90=money(d["p90"]),
        mean=money(d["mean"]),
        configured_ev=money(d["configured_ev"]),
        open_deals=int(d["open_deals"]),
        simulated=int(d["simulated"]),
        n_sims=int(d["n_sims"]),
        seed=int(d["seed"]),
        missing_rates=list(d["missing_rates"]),
        computed_at=snap.computed_at,
        calibration_computed_at=str(d.get("calibration_computed_at", "")),
    )


def stage_names(ids: list[int]) -> dict[int, str]:
    """``pipeline · stage`` names in the reader's language, one query."""
    return {s.pk: f"{s.pipeline} · {s}" for s in Stage.objects.filter(pk__in=ids).select_related("pipeline")}


def distribution_chart(snap: RevenueSnapshot) -> Chart:
    """The simulated totals (closed + open deals won in time) as a histogram, with P10, P50
    and P90 marked."""
    d = snap.data
    counts: list[int] = d["histogram"]["counts"]
    edges: list[float] = d["histogram"]["edges"]
    cats = [f"{money(edges[i]):,.0f}" for i in range(len(counts))]
    marks = []
    for label, key in (("P10", "p10"), ("P50", "p50"), ("P90", "p90")):
        x = d[key]
        i = max(0, min(len(counts) - 1, sum(1 for e in edges[1:-1] if e <= x)))
        marks.append({"name": label, "xAxis": i, "label": {"formatter": label}})
    rows = [[f"{money(edges[i]):,.0f} – {money(edges[i + 1]):,.0f}", counts[i]] for i in range(len(counts))]
    return Chart(
        key="distribution",
        title=_("Simulated period totals"),
        columns=[Column(_("Total (company currency)")), Column(_("Simulations"), "int")],
        rows=rows,
        categories=cats,
        series=[
            Series(
                _("Simulations"),
                cast(list[Decimal | int | None], counts),
                echarts={"markLine": {"symbol": "none", "data": marks, "lineStyle": {"type": "dashed"}}},
            )
        ],
    )


def stage_chart(snap: RevenueSnapshot) -> Chart:
    """Open deals by stage: configured and calibrated win rates, and the expected amount won
    inside the period."""
    rows_in = snap.data["by_stage"]
    names = stage_names([r["stage_id"] for r in rows_in])
    rows = [
        [
            names.get(r["stage_id"], str(r["stage_id"])),
            r["deals"],
            money(r["amount"]),
            pct(r["configured"]),
            pct(r["calibrated"]),
            money(r["expected"]),
        ]
        for r in rows_in
    ]
    return Chart(
        key="stages",
        title=_("Open deals by stage"),
        columns=[
            Column(_("Stage")),
            Column(_("Deals"), "int"),
            Column(_("Amount"), "money"),
            Column(_("Configured probability %"), "percent"),
            Column(_("Calibrated win rate %"), "percent"),
            Column(_("Expected to close won in the period"), "money"),
        ],
        rows=rows,
        categories=[r[0] for r in rows],
        series=[
            Series(_("Configured probability %"), [r[3] for r in rows]),
            Series(_("Calibrated win rate %"), [r[4] for r in rows]),
        ],
        horizontal=True,
    )


def reliability_chart(cal: Calibration) -> Chart:
    """The reliability diagram: in bins of predicted probability, the actual win rate of the
    history against the configured stage probabilities and against the calibrated rates, with
    the diagonal of perfect calibration; the table gives each bin's sample size."""
    rel = cal.data["reliability"]
    conf, used = rel["configured"], rel["calibrated"]
    rows: list[list[Any]] = []
    for c, u in zip(conf, used, strict=True):
        if not c["n"] and not u["n"]:
            continue
        rows.append(
            [
                f"{round(c['lo'] * 100)}–{round(c['hi'] * 100)}%",
                c["n"],
                pct(c["predicted"]),
                pct(c["actual"]),
                u["n"],
                pct(u["predicted"]),
                pct(u["actual"]),
            ]
        )

    def points(bins: list[dict[str, Any]]) -> list[Any]:
        # [predicted %, actual %, cases]: ECharts plots the first two, the tooltip shows all three
        return [[pct(b["predicted"]), pct(b["actual"]), b["n"]] for b in bins if b["n"]]

    axis_name = {"nameLocation": "middle", "nameGap": 28, "type": "value", "min": 0, "max": 100}
    return Chart(
        key="reliability",
        title=_("Reliability diagram"),
        columns=[
            Column(_("Predicted")),
            Column(_("Cases (configured)"), "int"),
            Column(_("Configured: predicted %"), "percent"),
            Column(_("Configured: actual %"), "percent"),
            Column(_("Cases (calibrated)"), "int"),
            Column(_("Calibrated: predicted %"), "percent"),
            Column(_("Calibrated: actual %"), "percent"),
        ],
        rows=rows,
        series=[
            Series(_("Configured stage probability"), cast(list[Decimal | int | None], points(conf)), type="scatter"),
            Series(_("Calibrated win rate"), cast(list[Decimal | int | None], points(used)), type="scatter"),
            Series(
                _("Perfect calibration"),
                cast(list[Decimal | int | None], [[0, 0], [100, 100]]),
                type="line",
                echarts={
                    "symbol": "none",
                    "lineStyle": {"type": "dashed", "color": "#999"},
                    "itemStyle": {"color": "#999"},
                    "silent": True,
                },
            ),
        ],
        echarts={
            "xAxis": {**axis_name, "name": _("Predicted win probability %")},
            "yAxis": {**axis_name, "name": _("Actual win rate %"), "nameGap": 36},
            "tooltip": {"trigger": "item"},
            "grid": {"left": 48, "right": 16, "top": 40, "bottom": 40, "containLabel": True},
        },
        note=_(
            "Each case is a closed deal's stay in an open stage, at the start of each age bucket it reached. "
            "The calibrated rates are measured on the same history they were estimated from."
        ),
    )
