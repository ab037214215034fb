"""API of ``salesflow.achievable`` under ``/api/v1/likely-revenue``: the same figures as the
page (``services.likely_revenue``, ``figures``), the calibration report, and recompute.

An unseen node is 404 (like ``analytics.selectors.node_for_user``); support sees no money
(403); a bad ``span`` or unknown parameter is a 400 naming the field."""

from __future__ import annotations

from typing import Any, Literal, cast

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from salesflow.achievable import figures
from salesflow.achievable.forms import LikelyRevenueForm
from salesflow.achievable.services import Span, current_calibration, likely_revenue
from salesflow.analytics.selectors import Node, node_for_user
from salesflow.billing.permissions import sees_no_money
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.schemas import StrictQuery, StrictSchema
from salesflow.users.models import User

router = Router(tags=["achievable"])


class LikelyQuery(StrictQuery):
    node: str = Field("", max_length=30, description="company, team:<id> or rep:<id>; default the widest you see")
    span: Literal["", "month", "quarter"] = Field("", description="month (default) or quarter: the current one")


class LikelyRecomputeIn(StrictSchema):
    node: str = Field("", max_length=30, description="company, team:<id> or rep:<id>; default the widest you see")
    span: Literal["", "month", "quarter"] = Field("", description="month (default) or quarter")


class LikelyStageOut(Schema):
    stage_id: int
    stage: str
    deals: int
    amount: str
    configured_probability: str | None = Field(..., description="Percent, one decimal")
    calibrated_win_rate: str | None = Field(..., description="Percent, one decimal (mean over the stage's deals)")
    expected_in_period: str


class LikelyOut(Schema):
    node: str
    period: str
    span: str
    currency: str
    closed: str = Field(..., description="Won revenue in the period so far (registry metric won_revenue)")
    closed_count: int
    p10: str
    p50: str
    p90: str
    mean: str
    configured_expected_value: str = Field(
        ..., description="Closed + Σ amount × configured stage probability of open deals due by the period's end"
    )
    open_deals: int
    simulated: int = Field(..., description="Open deals with a chance to close won inside the period")
    simulations: int
    seed: int
    missing_rates: list[str]
    computed_at: str
    calibration_computed_at: str
    stages: list[LikelyStageOut]


class BinOut(Schema):
    lo: float
    hi: float
    n: int
    predicted: float | None
    actual: float | None


class CalibrationOut(Schema):
    computed_at: str
    history_from: str
    history_to: str
    stays: int = Field(..., description="Stays in open stages of closed deals in the history")
    prior_strength: float
    age_buckets: list[int] = Field(..., description="Lower bounds of the age buckets, days in stage")
    configured: list[BinOut]
    calibrated: list[BinOut]
    slip_cases: int = Field(..., description="Won deals whose close-date slip was measured")


def _node(request: HttpRequest, node: str, span: str) -> tuple[Node, Span]:
    user = cast(User, request.user)
    if sees_no_money(user):
        raise Forbidden(_("Revenue figures are not shown to your role."))
    form = LikelyRevenueForm({"node": node, "span": span}, user=user)
    if not form.is_valid():
        if "node" in form.errors:
            raise Http404
        raise ValidationFailed(
            _("Check the filters."), field_errors={k: [str(e) for e in v] for k, v in form.errors.items()}
        )
    return node_for_user(user, form.cleaned_data["node"]), cast(Span, form.cleaned_data["span"])


def _out(node: Node, span: Span, fresh: bool = False) -> dict[str, Any]:
    from salesflow.core.money import company_currency

    snap = likely_revenue(node, span, fresh=fresh)
    h = figures.headline(snap)
    names = figures.stage_names([r["stage_id"] for r in snap.data["by_stage"]])

    def text(v: Any) -> str | None:
        return None if v is None else str(v)

    return {
        "node": node.key,
        "period": h.period,
        "span": span,
        "currency": company_currency(),
        "closed": str(h.closed),
        "closed_count": h.closed_count,
        "p10": str(h.p10),
        "p50": str(h.p50),
        "p90": str(h.p90),
        "mean": str(h.mean),
        "configured_expected_value": str(h.configured_ev),
        "open_deals": h.open_deals,
        "simulated": h.simulated,
        "simulations": h.n_sims,
        "seed": h.seed,
        "missing_rates": h.missing_rates,
        "computed_at": h.computed_at.isoformat(),
        "calibration_computed_at": h.calibration_computed_at,
        "stages": [
            {
                "stage_id": r["stage_id"],
                "stage": names.get(r["stage_id"], str(r["stage_id"])),
                "deals": r["deals"],
                "amount": str(figures.money(r["amount"])),
                "configured_probability": text(figures.pct(r["configured"])),
                "calibrated_win_rate": text(figures.pct(r["calibrated"])),
                "expected_in_period": str(figures.money(r["expected"])),
            }
            for r in snap.data["by_stage"]
        ],
    }


@router.get("", response=LikelyOut, summary="Most likely achievable revenue: P10, P50, P90 of the current period")
def likely(request: HttpRequest, filters: Query[LikelyQuery]) -> dict[str, Any]:
    node, span = _node(request, filters.node, filters.span)
    return _out(node, span)


@router.post("/recompute", response=LikelyOut, summary="Simulate the node's current period again now")
def recompute(request: HttpRequest, payload: LikelyRecomputeIn) -> dict[str, Any]:
    node, span = _node(request, payload.node, payload.span)
    return _out(node, span, fresh=True)


@router.get("/calibration", response=CalibrationOut, summary="Calibration report: the reliability diagram's bins")
def calibration(request: HttpRequest) -> dict[str, Any]:
    user = cast(User, request.user)
    if sees_no_money(user):
        raise Forbidden(_("Revenue figures are not shown to your role."))
    cal = current_calibration()
    d = cal.data
    return {
        "computed_at": cal.computed_at.isoformat(),
        "history_from": cal.history_from.isoformat(),
        "history_to": cal.history_to.isoformat(),
        "stays": d["stays"],
        "prior_strength": d["prior_strength"],
        "age_buckets": d["age_buckets"],
        "configured": d["reliability"]["configured"],
        "calibrated": d["reliability"]["calibrated"],
        "slip_cases": d["slip_counts"]["all"],
    }
