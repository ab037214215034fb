"""Report pages (报表, issue 10) under ``/reports/``: thin views over ``analytics.reports``.

Each report page shows the filter form (``ReportFilterForm``: the analysis filters and the
report's dimension), the table with its totals, the saved-views picker (the report is a
registered list, ``analytics.exports``) and CSV/XLSX export of the same table."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from salesflow.analytics.forms import AnalysisFilters
from salesflow.analytics.reports import REPORTS, ReportTable, report_for, report_form
from salesflow.core.errors import ValidationFailed
from salesflow.core.exports import cell_value, write_csv, write_xlsx
from salesflow.users.models import User


def report_query(analysis: AnalysisFilters, dimension: str) -> str:
    """The report's query string (the cleaned filters and dimension) for links and views."""
    return analysis.query_string(dimension=dimension)


def index_view(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics/index.html", {"reports": list(REPORTS.values())})


def report_view(request: HttpRequest, name: str) -> HttpResponse:
    user = cast(User, request.user)
    try:
        form, analysis, table = report_for(user, name, request.GET)
    except ValidationFailed:
        form = report_form(user, name, request.GET)
        form.is_valid()
        return render(
            request,
            "analytics/report.html",
            {"report": REPORTS[name], "form": form, "table": None, "list_key": f"report_{name}"},
            status=400,
        )
    query = report_query(analysis, table.dimension)
    currency = _company_currency()
    return render(
        request,
        "analytics/report.html",
        {
            "report": REPORTS[name],
            "form": form,
            "table": table,
            "analysis": analysis,
            "query": query,
            "list_key": f"report_{name}",
            "rows": list(
                zip(
                    [_display_row(table, row, currency) for row in table.rows],
                    row_links(analysis, table),
                    strict=True,
                )
            ),
            "totals": _display_row(table, table.totals, currency) if table.totals else None,
        },
    )


def row_links(analysis: AnalysisFilters, table: ReportTable) -> list[str]:
    """Each row's link to the records behind its figure: the dashboards' drill-down page
    (``dashboards:records``) with the report's filters and the row's narrowing ("" = none)."""
    base = reverse("dashboards:records")
    links = []
    for n in range(len(table.rows)):
        drill = table.drills[n] if n < len(table.drills) else None
        params = {**analysis.params, **drill} if drill else None
        links.append(base + "?" + urlencode({k: v for k, v in params.items() if v}) if params else "")
    return links


def _display_row(table: ReportTable, row: list[Any], currency: str) -> list[dict[str, Any]]:
    """Each cell as shown (money grouped with its symbol, percentages with %) and its raw
    value (``data-value``, what the export holds)."""
    from salesflow.core.templatetags.salesflow import money

    cells = []
    for col, value in zip(table.columns, row, strict=True):
        if value is None:
            shown = "—"
        elif col.kind == "money":
            shown = money(value, currency)
        elif col.kind == "percent":
            shown = f"{value}%"
        elif col.kind == "int":
            shown = f"{value:,}"
        else:
            shown = str(value)
        raw = "" if value is None else (f"{value:f}" if isinstance(value, Decimal) else str(value))
        cells.append({"shown": shown, "raw": raw, "kind": col.kind, "key": col.key})
    return cells


def _company_currency() -> str:
    from salesflow.core.money import company_currency

    return company_currency()


def table_cells(table: ReportTable) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows (the totals row last) as written into a file."""
    headers = [c.label for c in table.columns]
    rows = [[cell_value(v) for v in row] for row in table.rows]
    if table.totals is not None:
        rows.append([cell_value(v) for v in table.totals])
    return headers, rows


def sheet_title(title: str) -> str:
    """A worksheet title Excel accepts (no ``[]:*?/\\``, at most 31 characters)."""
    import re

    return re.sub(r"[\[\]:*?/\\]", "-", title)[:31] or "Report"


def export_view(request: HttpRequest, name: str, fmt: str) -> HttpResponse | FileResponse:
    """The report's table as CSV (UTF-8 with a BOM) or XLSX (openpyxl write-only), written
    during the request (report tables are bounded), with the totals as the last row."""
    user = cast(User, request.user)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    try:
        _form, analysis, table = report_for(user, name, request.GET)
    except ValidationFailed as exc:
        return HttpResponse(" ".join(m for msgs in exc.field_errors.values() for m in msgs), status=400)
    headers, rows = table_cells(table)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"report.{fmt}"
        if fmt == "xlsx":
            write_xlsx(path, headers, rows, title=sheet_title(str(REPORTS[name].title)))
        else:
            write_csv(path, headers, rows)
        data = path.read_bytes()
    stamp = timezone.localdate().isoformat()
    filename = f"report-{name}-{table.dimension}-{analysis.period.key}-{stamp}.{fmt}"
    content_type = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if fmt == "xlsx"
        else "text/csv; charset=utf-8"
    )
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
