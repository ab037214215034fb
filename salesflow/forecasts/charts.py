"""The pipeline waterfall as a ``dashboards.charts.Chart``: stacked bars whose first series is a
transparent base (``Series.echarts`` ``itemStyle``), so each change floats at the running
total; the second series is the rise or fall. Each change bar links to its deals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from salesflow.dashboards.charts import Chart, Column, Series
from salesflow.forecasts.forms import Filters
from salesflow.forecasts.selectors import BAR_KEYS, Waterfall, bar_labels


def waterfall_chart(w: Waterfall, filters: Filters) -> Chart:
    """Start, the seven changes in order (increases first, then decreases), end. ``base`` +
    ``rise`` (or ``fall``) of each bar are the running totals, so the chart's ends match
    :class:`Waterfall`'s ``start`` and ``end``."""
    labels = bar_labels()
    start_label, end_label = _("Pipeline then"), _("Pipeline now")
    cats = [start_label]
    base: list[Decimal | int | None] = [Decimal(0)]
    total: list[Decimal | int | None] = [w.start]
    up: list[Decimal | int | None] = [None]
    down: list[Decimal | int | None] = [None]
    links = [""]
    rows: list[list[Any]] = [[start_label, w.start, w.start_count]]
    row_links = [""]
    counts = w.counts()
    url = reverse("forecasts:changes")
    running = w.start
    for key in BAR_KEYS:
        value = w.bars[key]
        cats.append(labels[key])
        link = f"{url}?{filters.query(bar=key)}#deals"
        total.append(None)
        if value >= 0:
            base.append(running)
            up.append(value)
            down.append(None)
        else:
            base.append(running + value)
            up.append(None)
            down.append(-value)
        running += value
        links.append(link)
        rows.append([labels[key], value, counts[key]])
        row_links.append(link)
    cats.append(end_label)
    base.append(Decimal(0))
    total.append(w.end)
    up.append(None)
    down.append(None)
    links.append("")
    rows.append([end_label, w.end, w.end_count])
    row_links.append("")
    invisible = {"itemStyle": {"color": "transparent", "borderColor": "transparent"}, "tooltip": {"show": False}}
    return Chart(
        key="forecast-waterfall",
        title=_("What changed since %(day)s") % {"day": w.since.date().isoformat()},
        columns=[Column(_("Change")), Column(_("Amount"), "money"), Column(_("Deals"), "int")],
        rows=rows,
        categories=cats,
        series=[
            Series(_("Base"), base, stack="w", links=links, echarts=invisible),
            Series(_("Open pipeline"), total, stack="w", links=links, echarts={"itemStyle": {"color": "#206bc4"}}),
            Series(_("Increase"), up, stack="w", links=links, echarts={"itemStyle": {"color": "#2fb344"}}),
            Series(_("Decrease"), down, stack="w", links=links, echarts={"itemStyle": {"color": "#d63939"}}),
        ],
        row_links=row_links,
        note=_("Open deals due in the period, in the company currency at today's rates."),
        echarts={"legend": {"data": [_("Open pipeline"), _("Increase"), _("Decrease")], "top": 0}},
    )
