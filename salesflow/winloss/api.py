"""API of ``salesflow.winloss`` under ``/api/v1/winloss``: the win/loss drivers of a node and
period (the same snapshot the page shows, whatever the language; the labels — ``title``,
``label``, ``note`` — are in the request's language, the keys, codes and figures are the same in
every language). Filters are query parameters read by
``analytics.forms.AnalysisFilterForm``; a node the reader may not see is a 404, as on the page."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from salesflow.analytics.forms import AnalysisFilterForm
from salesflow.analytics.selectors import node_for_user
from salesflow.core.errors import ValidationFailed
from salesflow.core.schemas import StrictQuery
from salesflow.dashboards.charts import widest_node_key
from salesflow.users.models import User
from salesflow.winloss.cache import drivers_data
from salesflow.winloss.labels import localize

router = Router(tags=["winloss"])


class DriversQuery(StrictQuery):
    period: str = Field("", max_length=20, description="2026, 2026-Q1, 2026-12 or 2026-12-W1; default this month")
    node: str = Field("", max_length=30, description="company, team:<id> or rep:<id>; default the widest you see")
    pipeline: str = Field("", max_length=12, description="A pipeline id")
    product_line: str = Field("", max_length=12, description="A product line (category) id")
    region: str = Field("", max_length=12, description="A region (territory) id, with its subtree")
    source: str = Field("", max_length=30, description="A source channel")
    refresh: bool = Field(False, description="Recompute now instead of reading the snapshot")


class ValueOut(Schema):
    key: str = Field(..., description="The value's code: a choice code, a bin key or an objection category id")
    label: str = Field(..., description="The value in the request's language")
    lower: float | None = Field(None, description="A range bin's lower bound (a count, or days in the stage)")
    upper: float | None = Field(None, description="A range bin's upper bound; null when open")
    closed: int
    won: int
    win_rate: float | None = Field(..., description="won ÷ closed (0–1)")
    ci_low: float | None = Field(..., description="Wilson 95% interval of the win rate")
    ci_high: float | None
    rest_closed: int = Field(..., description="The other deals of the same population")
    rest_won: int
    rest_win_rate: float | None
    difference: float | None = Field(..., description="win_rate − rest_win_rate")
    diff_low: float | None = Field(..., description="95% (Wald) interval of the difference")
    diff_high: float | None
    p_value: float | None = Field(..., description="Two-proportion z-test, two-sided")
    verdict: str = Field(..., description="significant, not_significant or too_few (< 10 deals on a side)")
    significant: bool


class DriverOut(Schema):
    key: str = Field(
        ..., description="source, industry, size, activities, objections, objection_kinds, discount, stage:<id>"
    )
    title: str
    population: int
    note: str
    values: list[ValueOut]


class TermOut(Schema):
    feature: str = Field(..., description="<attribute>=<value code>")
    attribute: str
    value: str
    reference: str = Field(..., description="The code of the value the odds ratio is read against")
    label: str
    coefficient: float
    odds_ratio: float
    or_low: float | None = Field(..., description="95% percentile-bootstrap interval of the odds ratio")
    or_high: float | None
    significant: bool = Field(..., description="The interval excludes 1")


class DriverModelOut(Schema):
    n: int = Field(..., description="Deals the model was fitted on")
    won: int
    population: int
    bootstrap: int
    penalty_c: float
    terms: list[TermOut]
    note: str
    note_code: str = Field(..., description="too_few_deals, no_variation, sampled or empty")
    note_params: dict[str, int]


class DriversOut(Schema):
    period: str
    node: str
    closed: int
    won: int
    win_rate: float | None
    ci_low: float | None
    ci_high: float | None
    drivers: list[DriverOut]
    model: DriverModelOut | None
    computed_at: str


@router.get("/drivers", response=DriversOut, summary="Win/loss drivers of a node and period")
def drivers(request: HttpRequest, filters: Query[DriversQuery]) -> dict[str, Any]:
    """Every attribute's win rates with intervals and tests, and the regression's odds ratios."""
    user = cast(User, request.user)
    params = filters.dict()
    refresh = bool(params.pop("refresh", False))
    if params.get("node"):
        node_for_user(user, params["node"])  # unseen or malformed: 404
    else:
        params["node"] = widest_node_key(user)
    form = AnalysisFilterForm(params, user=user)
    if not form.is_valid():
        if "node" in form.errors:
            raise Http404
        raise ValidationFailed(
            _("Check the filters."), field_errors={k: [str(e) for e in v] for k, v in form.errors.items()}
        )
    a = form.analysis()
    data = drivers_data(a, timezone.localdate(), fresh=refresh)
    return {**localize(data), "period": a.period.key, "node": a.node.key}
