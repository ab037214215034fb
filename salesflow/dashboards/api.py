"""API of ``salesflow.dashboards`` under ``/api/v1/dashboards``: each chart's data (the same
selectors and snapshots as the pages), filters as query parameters (``analytics.forms``)."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from salesflow.analytics.forms import AnalysisFilterForm
from salesflow.core.errors import ValidationFailed
from salesflow.core.schemas import StrictQuery
from salesflow.dashboards.cache import chart_data
from salesflow.dashboards.charts import CHARTS, widest_node_key
from salesflow.users.models import User

router = Router(tags=["dashboards"])


class ChartQuery(StrictQuery):
    period: str = Field("", max_length=20, description="2026, 2026-Q1, 2026-12 or 2026-12-W1; default this month")
    node: str = Field("", max_length=30, description="company, team:<id> or rep:<id>; default the widest you see")
    pipeline: str = Field("", max_length=12, description="A pipeline id")
    product_line: str = Field("", max_length=12, description="A product line (category) id")
    region: str = Field("", max_length=12, description="A region (territory) id, with its subtree")
    source: str = Field("", max_length=30, description="A source channel")


class ChartColumnOut(Schema):
    label: str
    kind: str = Field(..., description="text, money, int, percent, date or days")


class SeriesOut(Schema):
    name: str
    type: str
    stack: str
    data: list[str | None] = Field(..., description="One value per category (decimal strings)")


class ChartOut(Schema):
    chart: str
    title: str
    period: str
    node: str
    columns: list[ChartColumnOut]
    rows: list[list[str | None]] = Field(..., description="The table view, cells as strings")
    categories: list[str]
    series: list[SeriesOut]
    figure: str
    note: str
    computed_at: str


class ChartListOut(Schema):
    charts: list[str]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@router.get("/charts", response=ChartListOut, summary="The dashboard charts")
def list_charts(request: HttpRequest) -> dict[str, Any]:
    return {"charts": list(CHARTS)}


def _chart_data(request: HttpRequest, chart: str, filters: ChartQuery) -> dict[str, Any]:
    user = cast(User, request.user)
    params = filters.dict()
    params["node"] = params.get("node") or widest_node_key(user)
    form = AnalysisFilterForm(params, user=user)
    if not form.is_valid():
        if "node" in form.errors:  # a node the reader may not see: 404, like node_for_user
            raise Http404
        raise ValidationFailed(
            _("Check the filters."), field_errors={k: [str(e) for e in v] for k, v in form.errors.items()}
        )
    a = form.analysis()
    data = chart_data(chart, a, timezone.localdate(), reader=user)
    return {
        "chart": chart,
        "title": data["title"],
        "period": a.period.key,
        "node": a.node.key,
        "columns": data["columns"],
        "rows": [[_text(c) for c in row] for row in data["rows"]],
        "categories": data["categories"],
        "series": [
            {"name": s["name"], "type": s["type"], "stack": s["stack"], "data": [_text(v) for v in s["data"]]}
            for s in data["series"]
        ],
        "figure": data["figure"],
        "note": data["note"],
        "computed_at": data["computed_at"],
    }


def _endpoint(chart: str) -> Any:
    def view(request: HttpRequest, filters: Query[ChartQuery]) -> dict[str, Any]:
        return _chart_data(request, chart, filters)

    view.__name__ = f"dashboard_{chart}"
    return view


for _key in CHARTS:  # one read endpoint per chart: /api/v1/dashboards/<chart>
    router.add_api_operation(
        f"/{_key}",
        ["GET"],
        _endpoint(_key),
        response=ChartOut,
        summary=f"Dashboard chart: {_key} (its data and table)",
        operation_id=f"dashboards_chart_{_key}",
    )
