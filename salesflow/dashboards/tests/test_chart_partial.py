"""The one chart partial (``dashboards/partials/chart.html``) that the dashboards, process,
win/loss, likely-revenue and forecast pages include: its parameters (test-id prefix, canvas
height per category or fixed, export buttons and the computed-at line only when given)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template.exceptions import TemplateDoesNotExist
from django.template.loader import render_to_string, select_template

from salesflow.dashboards.cache import chart_dict
from salesflow.dashboards.charts import Chart, Column, Series


def _chart(horizontal: bool = False) -> dict[str, object]:
    return chart_dict(
        Chart(
            key="source",
            title="Win rate by source",
            columns=[Column("Source"), Column("Deals", "int")],
            rows=[["Referral", 20], ["Outbound", 24], ["Partner", 14]],
            categories=["Referral", "Outbound", "Partner"],
            series=[Series("Deals", [Decimal(20), 24, 14])],
            horizontal=horizontal,
        )
    )


def _render(**params: object) -> str:
    chart = params.pop("chart", None) or _chart()
    rows = [(row, "") for row in chart["rows"]]  # type: ignore[index]
    return render_to_string(
        "dashboards/partials/chart.html", {"chart": chart, "rows": rows, "element_id": "data-x", **params}
    )


def test_defaults_are_the_dashboards_card() -> None:
    html = _render(csv_url="/x.csv", xlsx_url="/x.xlsx", computed_at="2026-12-03 10:00")
    assert 'data-testid="dashboards-chart-source"' in html and 'data-height="300"' in html
    assert 'data-testid="dashboards-csv-source"' in html and 'href="/x.xlsx"' in html
    assert 'data-testid="dashboards-computed-at"' in html and "2026-12-03 10:00" in html
    assert 'data-height="90"' in _render(chart=_chart(horizontal=True))  # 3 categories × 30 px


def test_prefix_height_and_no_exports_for_the_analysis_pages() -> None:
    html = _render(prefix="winloss", row_height=44)
    assert 'data-testid="winloss-chart-source"' in html and 'data-testid="winloss-toggle-source"' in html
    assert 'data-testid="winloss-table-source"' in html and 'data-height="132"' in html  # 3 × 44 px
    assert (
        'data-testid="dashboards-' not in html
        and "CSV" not in html
        and "XLSX" not in html
        and "computed-at" not in html
    )
    html = _render(prefix="process", height=220)
    assert 'data-testid="process-chart-source"' in html and 'data-height="220"' in html


def test_the_copies_are_gone() -> None:
    for name in ("process/partials/chart.html", "winloss/partials/chart.html"):
        with pytest.raises(TemplateDoesNotExist):
            select_template([name])
