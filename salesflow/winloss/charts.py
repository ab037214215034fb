"""Charts of the win/loss page, built from the stored drivers (``cache.drivers_data``) with the
dashboards framework (``dashboards.charts.Chart``): per attribute, horizontal bars of the win
rate of each value (bars of a significant difference in one colour, the rest grey) with the
Wilson interval drawn as whiskers (an ECharts boxplot series of [low, low, rate, high, high]),
a line at the overall win rate, and the table of every figure (what the API returns too).
The odds ratios of the model get their own chart (log axis, bootstrap whiskers)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from salesflow.dashboards.cache import chart_dict
from salesflow.dashboards.charts import Chart, Column, Series

SIGNIFICANT_COLOUR = "#206bc4"
OTHER_COLOUR = "#adb5bd"


def pct(value: float | None, places: str = "0.1") -> Decimal | None:
    """A fraction as a percentage rounded half-up (``None`` stays ``None``)."""
    if value is None:
        return None
    return (Decimal(repr(value)) * 100).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def verdict_label(verdict: str) -> str:
    return {
        "significant": _("Significant"),
        "not_significant": _("Not significant"),
        "too_few": _("Too few cases"),
    }.get(verdict, verdict)


def _p(value: float | None) -> str | None:
    if value is None:
        return None
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _interval(lo: Decimal | None, hi: Decimal | None) -> str | None:
    return None if lo is None or hi is None else f"{lo} – {hi}"


def driver_chart(driver: dict[str, Any], overall: float | None) -> dict[str, Any]:
    """One attribute's chart and table as JSON-ready data."""
    values = driver["values"]
    rows: list[list[Any]] = []
    sig: list[Decimal | int | None] = []
    other: list[Decimal | int | None] = []
    whiskers: list[Any] = []
    for v in values:
        rate, lo, hi = pct(v["win_rate"]), pct(v["ci_low"]), pct(v["ci_high"])
        rows.append(
            [
                v["label"],
                v["closed"],
                v["won"],
                rate,
                _interval(lo, hi),
                pct(v["difference"]),
                _interval(pct(v["diff_low"]), pct(v["diff_high"])),
                _p(v["p_value"]),
                f"{v['rest_won']} / {v['rest_closed']}",
                verdict_label(v["verdict"]),
            ]
        )
        sig.append(rate if v["verdict"] == "significant" else None)
        other.append(None if v["verdict"] == "significant" else rate)
        whiskers.append([lo, lo, rate, hi, hi])
    mark: dict[str, Any] = {}
    if overall is not None:
        mark = {
            "markLine": {
                "silent": True,
                "symbol": "none",
                "lineStyle": {"type": "dashed", "color": "#d63939"},
                "label": {"formatter": _("All deals %(rate)s%%") % {"rate": pct(overall)}, "position": "start"},
                "data": [{"xAxis": float(pct(overall) or 0)}],
            }
        }
    chart = Chart(
        key=driver["key"].replace(":", "-"),
        title=driver["title"],
        columns=[
            Column(pgettext("attribute", "Value")),
            Column(_("Closed deals"), "int"),
            Column(_("Won deals"), "int"),
            Column(_("Win rate %"), "percent"),
            Column(_("Interval (95%)")),
            Column(_("Difference vs the rest (points)"), "percent"),
            Column(_("Interval of the difference (95%)")),
            Column(_("p-value")),
            Column(_("The rest: won / closed")),
            Column(_("Verdict")),
        ],
        rows=rows,
        categories=[v["label"] for v in values],
        series=[
            Series(
                _("Significant"),
                sig,
                stack="rate",
                echarts={"itemStyle": {"color": SIGNIFICANT_COLOUR}, "barMaxWidth": 22, **mark},
            ),
            Series(
                _("Not significant"),
                other,
                stack="rate",
                echarts={"itemStyle": {"color": OTHER_COLOUR}, "barMaxWidth": 22},
            ),
            Series(
                _("Interval (95%)"),
                cast(Any, whiskers),
                type="boxplot",
                echarts={
                    "boxWidth": [0, 0],
                    "itemStyle": {"color": "transparent", "borderColor": "#1d273b", "borderWidth": 1.5},
                    "tooltip": {"show": False},
                },
            ),
        ],
        note=driver.get("note", ""),
        horizontal=True,
        echarts={
            "xAxis": {"type": "value", "min": 0, "max": 100, "name": "%"},
            # room between the legend and the plot for the overall rate's label on its line
            "grid": {"left": 8, "right": 16, "top": 52, "bottom": 8, "containLabel": True},
        },
    )
    return chart_dict(chart)


def model_chart(model: dict[str, Any]) -> dict[str, Any] | None:
    """The odds ratios of the model with their bootstrap intervals (log axis), or ``None``."""
    terms = model.get("terms") or []
    if not terms:
        return None
    rows: list[list[Any]] = []
    sig: list[Decimal | int | None] = []
    other: list[Decimal | int | None] = []
    whiskers: list[Any] = []

    def r(x: float | None) -> Decimal | None:
        return None if x is None else Decimal(repr(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    for t in terms:
        ratio, lo, hi = r(t["odds_ratio"]), r(t["or_low"]), r(t["or_high"])
        rows.append(
            [
                t["label"],
                ratio,
                _interval(lo, hi),
                _("Significant") if t["significant"] else _("Not significant"),
            ]
        )
        sig.append(ratio if t["significant"] else None)
        other.append(None if t["significant"] else ratio)
        whiskers.append([lo, lo, ratio, hi, hi] if lo is not None else [ratio, ratio, ratio, ratio, ratio])
    chart = Chart(
        key="model",
        title=_("Odds ratios of the logistic regression"),
        columns=[
            Column(_("Attribute")),
            Column(_("Odds ratio"), "percent"),
            Column(_("Bootstrap interval (95%)")),
            Column(_("Verdict")),
        ],
        rows=rows,
        categories=[t["label"] for t in terms],
        series=[
            Series(
                _("Significant"),
                sig,
                type="scatter",
                echarts={"itemStyle": {"color": SIGNIFICANT_COLOUR}, "symbolSize": 10},
            ),
            Series(
                _("Not significant"),
                other,
                type="scatter",
                echarts={
                    "itemStyle": {"color": OTHER_COLOUR},
                    "symbolSize": 10,
                    "markLine": {
                        "silent": True,
                        "symbol": "none",
                        "lineStyle": {"type": "dashed", "color": "#d63939"},
                        "data": [{"xAxis": 1}],
                    },
                },
            ),
            Series(
                _("Interval (95%)"),
                cast(Any, whiskers),
                type="boxplot",
                echarts={
                    "boxWidth": [0, 0],
                    "itemStyle": {"color": "transparent", "borderColor": "#1d273b", "borderWidth": 1.5},
                    "tooltip": {"show": False},
                },
            ),
        ],
        horizontal=True,
        echarts={"xAxis": {"type": "log", "logBase": 2, "name": _("odds ratio")}},
    )
    return chart_dict(chart)
