"""API of ``salesflow.projections`` under ``/api/v1/revenue-forecast``: the stored forecast
run of a (metric, frequency, node) — the same selectors as the page — the nodes the reader
may pick, and the administrators' recompute."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from salesflow.core.schemas import StrictQuery, StrictSchema
from salesflow.projections import selectors
from salesflow.projections.services import forecast_recompute
from salesflow.users.models import User

router = Router(tags=["projections"])


class ForecastQuery(StrictQuery):
    metric: str = Field("", max_length=40, description="won_revenue (default) or collections")
    freq: str = Field("", max_length=2, description="M (per month, default) or W (per week)")
    node: str = Field("", max_length=30, description="company or team:<id>; default the widest you see")


class BacktestModelOut(Schema):
    name: str
    mape: float | None
    smape: float | None
    mase: float | None
    folds: int
    baseline: bool


class HistoryOut(Schema):
    period: str = Field(..., description="First day of the period (ISO)")
    amount: str


class ForecastPointOut(Schema):
    period: str
    mean: str
    lo: str | None = Field(None, description="Lower bound of the interval (level %), null when the model gives none")
    hi: str | None


class ForecastOut(Schema):
    node: str
    metric: str
    freq: str
    computed_at: str
    horizon: int
    folds: int
    chosen: str = Field(..., description="The model shown; a baseline when no model beat it")
    baseline: str = Field(..., description="The better baseline (Naive or SeasonalNaive)")
    beat_baseline: bool
    level: int
    models: list[BacktestModelOut]
    history: list[HistoryOut]
    forecast: list[ForecastPointOut]
    notes: list[str]
    note_texts: list[str]


class NodeOut(Schema):
    key: str
    label: str


class ForecastRecomputeIn(StrictSchema):
    pass


class RecomputeOut(Schema):
    job: str


@router.get("/nodes", response=list[NodeOut], summary="The nodes whose revenue forecast you may read")
def list_nodes(request: HttpRequest) -> list[dict[str, str]]:
    user = cast(User, request.user)
    return [{"key": n.key, "label": n.label} for n in selectors.forecast_nodes_for(user)]


@router.get("", response=ForecastOut, summary="The stored revenue forecast and its backtest")
def get_forecast(request: HttpRequest, filters: Query[ForecastQuery]) -> dict[str, Any]:
    """404 for a node you may not see, or when the forecast has not been computed yet."""
    user = cast(User, request.user)
    nodes = selectors.forecast_nodes_for(user)
    choice = selectors.parse_choice(user, filters.metric, filters.freq, filters.node, nodes)
    if choice is None:
        raise Http404(_("You see no node with a revenue forecast."))
    run = selectors.run_for(choice)
    if run is None:
        raise Http404(_("This forecast has not been computed yet."))
    return selectors.run_summary(run)


@router.post("/recompute", response={202: RecomputeOut}, summary="Recompute every forecast now (administrators)")
def recompute(request: HttpRequest, payload: ForecastRecomputeIn) -> tuple[int, dict[str, str]]:
    return 202, {"job": forecast_recompute(cast(User, request.user))}
