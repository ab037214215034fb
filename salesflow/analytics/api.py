"""API of ``salesflow.analytics`` under ``/api/v1/reports``: the report tables, thin over
``analytics.reports`` with the same filter form as the pages (``ReportFilterForm``).

``GET /reports`` lists the reports and their dimensions; ``GET /reports/sales``,
``/reports/won-lost``, ``/reports/velocity`` and ``/reports/activities`` answer one
report's table for ``period``, ``node``, ``pipeline_id``, ``product_line_id``,
``region_id``, ``source`` and ``dimension``: money, percentages and days as decimal
strings, counts as integers. Bad parameters are a 400 naming the field; a node the caller
may not pick is a 400 on ``node``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from salesflow.analytics.reports import REPORTS, report_for
from salesflow.core.schemas import StrictQuery
from salesflow.users.models import User

router = Router(tags=["reports"])


class DimensionOut(Schema):
    key: str
    label: str


class ReportInfoOut(Schema):
    name: str
    title: str
    description: str
    dimensions: list[DimensionOut]


class ReportColumnOut(Schema):
    key: str
    label: str
    kind: str = Field(..., description="text, int, money (company currency), percent or days")


class ReportTableOut(Schema):
    name: str
    title: str
    dimension: str
    period: str
    node: str
    currency: str
    columns: list[ReportColumnOut]
    rows: list[dict[str, Any]] = Field(..., description="One object per row, keyed by column key")
    totals: dict[str, Any] | None
    missing_rates: list[str] = Field(..., description="Currencies left out for want of an exchange rate")
    formula: str
    truncated: int = Field(..., description="Smaller rows summed into the last row (“all others”)")


class ReportQuery(StrictQuery):
    period: str = Field("", max_length=20, description="2026, 2026-Q1, 2026-03 or 2026-03-W1 (default this month)")
    node: str = Field("", max_length=30, description="company, team:<id> or rep:<id> (default the widest you see)")
    dimension: str = Field("", max_length=20, description="The report's dimension (see GET /reports)")
    pipeline_id: int | None = Field(None, ge=1, le=2**63 - 1)
    product_line_id: int | None = Field(None, ge=1, le=2**63 - 1)
    region_id: int | None = Field(None, ge=1, le=2**63 - 1)
    source: str = Field("", max_length=20)


def _value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:f}"
    return value


@router.get("", response=list[ReportInfoOut], summary="The reports and their dimensions")
def list_reports(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "title": str(r.title),
            "description": str(r.description),
            "dimensions": [{"key": k, "label": str(label)} for k, label in r.dimensions],
        }
        for r in REPORTS.values()
    ]


def _report(request: HttpRequest, name: str, filters: ReportQuery) -> dict[str, Any]:
    from salesflow.core.money import company_currency

    data = {
        "period": filters.period,
        "node": filters.node,
        "dimension": filters.dimension,
        "pipeline": str(filters.pipeline_id or ""),
        "product_line": str(filters.product_line_id or ""),
        "region": str(filters.region_id or ""),
        "source": filters.source,
    }
    _form, analysis, table = report_for(cast(User, request.user), name, data)
    keys = [c.key for c in table.columns]
    return {
        "name": name,
        "title": table.title,
        "dimension": table.dimension,
        "period": analysis.period.key,
        "node": analysis.node.key,
        "currency": company_currency(),
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in table.columns],
        "rows": [{k: _value(v) for k, v in zip(keys, row, strict=True)} for row in table.rows],
        "totals": None if table.totals is None else {k: _value(v) for k, v in zip(keys, table.totals, strict=True)},
        "missing_rates": sorted(table.missing_rates),
        "formula": table.formula,
        "truncated": table.truncated,
    }


@router.get("/sales", response=ReportTableOut, summary="Won revenue and deals by a dimension (the sales report)")
def sales_report(request: HttpRequest, filters: Query[ReportQuery]) -> dict[str, Any]:
    return _report(request, "sales", filters)


@router.get("/won-lost", response=ReportTableOut, summary="Lost deals by reason, or won and lost against competitors")
def won_lost_report(request: HttpRequest, filters: Query[ReportQuery]) -> dict[str, Any]:
    return _report(request, "won_lost", filters)


@router.get("/velocity", response=ReportTableOut, summary="Sales velocity and cycle time per rep")
def velocity_report(request: HttpRequest, filters: Query[ReportQuery]) -> dict[str, Any]:
    return _report(request, "velocity", filters)


@router.get("/activities", response=ReportTableOut, summary="Activities done by type and rep, week or month")
def activities_report(request: HttpRequest, filters: Query[ReportQuery]) -> dict[str, Any]:
    return _report(request, "activities", filters)
