"""API of ``salesflow.process`` under ``/api/v1/process``: the same figures as the pages
(``process.pages`` snapshots of ``process.selectors``). Query schemas are strict; an unseen
node is a 404 (``analytics.selectors.node_for_user``), a bad filter a 400 naming the field."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router
from pydantic import Field

from salesflow.core.errors import ValidationFailed
from salesflow.core.schemas import StrictQuery
from salesflow.dashboards.charts import widest_node_key
from salesflow.process.forms import ControlFilterForm, ProcessFilterForm
from salesflow.process.pages import cached
from salesflow.users.models import User

router = Router(tags=["process"])


class SummaryQuery(StrictQuery):
    period: str = Field(
        "",
        max_length=20,
        description="2026, 2026-Q1, 2026-12, 2026-12-W1 or last-90-days (the default: the last 90 days)",
    )
    node: str = Field("", max_length=30, description="company, team:<id> or rep:<id>; default the widest you see")
    pipeline: str = Field("", max_length=12, description="A pipeline id; default the default pipeline")
    product_line: str = Field("", max_length=12, description="A product line (category) id")
    region: str = Field("", max_length=12, description="A region (territory) id, with its subtree")
    source: str = Field("", max_length=30, description="A source channel")
    industry: str = Field("", max_length=30, description="An industry code")
    size: str = Field("", max_length=20, description="A company size code")


class ControlQuery(SummaryQuery):
    metric: str = Field("", max_length=30, description="cycle_time (default), win_rate, time_in_stage, rework_rate")
    stage: str = Field("", max_length=12, description="A stage id (needed for time_in_stage)")


def _form(request: HttpRequest, cls: type[ProcessFilterForm], params: dict[str, Any]) -> ProcessFilterForm:
    user = cast(User, request.user)
    params["node"] = params.get("node") or widest_node_key(user)
    form = cls(params, user=user)
    if not form.is_valid():
        if "node" in form.errors:  # a node the reader may not see: 404, like node_for_user
            raise Http404
        raise ValidationFailed(
            _("Check the filters."), field_errors={k: [str(e) for e in v] for k, v in form.errors.items()}
        )
    return form


@router.get("/summary", response=dict[str, Any], summary="Process intelligence of a pipeline")
def summary(request: HttpRequest, filters: Query[SummaryQuery]) -> dict[str, Any]:
    """Per stage: exits, P50/P80/P95 days, conversion, regression rate, throughput, WIP now
    and average, Little's-law sides and ratio, bottleneck; first-pass yield and win rate;
    time in stage by team, rep, industry, size, source and region; bottleneck per segment;
    the weekly cycle-time control chart of the 26 weeks to the period's end."""
    form = _form(request, ProcessFilterForm, filters.dict())
    f = form.process()
    data = cached("summary", f)
    return {
        "period": f.analysis.period.key,
        "node": f.analysis.node.key,
        **data["summary"],
        "control": {k: v for k, v in data["control"].items() if k != "chart"},
        "computed_at": data["computed_at"],
        "facts_at": data["facts_at"],
    }


@router.get("/control", response=dict[str, Any], summary="Control charts (XmR) with Western Electric signals")
def control(request: HttpRequest, filters: Query[ControlQuery]) -> dict[str, Any]:
    """Weekly XmR charts over the period (default this year): cycle time and win rate, plus
    the chosen metric (with its stage): points, limits and out-of-control signals."""
    params = filters.dict()
    params["period"] = params.get("period") or ""
    if not params["period"]:
        from django.utils import timezone

        params["period"] = str(timezone.localdate().year)
    form = _form(request, ControlFilterForm, params)
    f = form.process()
    data = cached("control", f)
    return {
        "period": f.analysis.period.key,
        "node": f.analysis.node.key,
        "controls": [{k: v for k, v in c.items() if k != "chart"} for c in data["controls"]],
        "computed_at": data["computed_at"],
        "facts_at": data["facts_at"],
    }
