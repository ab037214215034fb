"""API of ``salesflow.scorecards`` under ``/api/v1/scorecards``: thin endpoints over its
selectors and services.

* ``GET /scorecard`` — the KPI scorecard of a node (team: a row per rep) with the medians;
* ``GET /funnel`` — funnel math (漏斗倒推) for the node and each rep (``gap`` when no target);
* ``GET /appraisals``, ``POST /appraisals``, ``GET|PATCH /appraisals/{appraisal_id}``.

Filters are those of ``analytics.forms.AnalysisFilterForm`` (period, node, pipeline,
product_line, region, source). Money is a decimal string, rates are decimal strings of the
fraction (``"0.4167"``) with their numerator and denominator.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from salesflow.analytics.selectors import StageStep
from salesflow.billing.permissions import sees_no_money
from salesflow.core.errors import ValidationFailed
from salesflow.core.money_schema import MoneyOut
from salesflow.core.schemas import StrictQuery, StrictSchema
from salesflow.scorecards.forms import analysis_or_error, parse_gap
from salesflow.scorecards.models import COMMENT_MAX_LENGTH, Appraisal
from salesflow.scorecards.selectors import (
    MIN_SAMPLE,
    FunnelLine,
    Rate,
    RepCard,
    appraisal_for_user,
    appraisal_period,
    appraisal_rep_for,
    appraisals_for,
    fraction_to_decimal,
    funnel,
    scorecard,
)
from salesflow.scorecards.services import appraisal_create, appraisal_update
from salesflow.users.models import User

router = Router(tags=["scorecards"])

_FILTER_DOC = "core.periods key (2026, 2026-Q1, 2026-12, 2026-12-W1); default the current month"


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _dec(value: Fraction | Decimal | None, places: int = 4) -> str | None:
    if value is None:
        return None
    if isinstance(value, Fraction):
        out = fraction_to_decimal(value, places)
        return str(out) if out is not None else None
    return str(value)


# --- schemas ---------------------------------------------------------------------------------


class AnalysisQuery(StrictQuery):
    period: str | None = Field(None, max_length=20, description=_FILTER_DOC)
    node: str | None = Field(None, max_length=40, description="company, team:<id> or rep:<id>")
    pipeline: str | None = Field(None, max_length=20)
    product_line: str | None = Field(None, max_length=20)
    region: str | None = Field(None, max_length=20)
    source: str | None = Field(None, max_length=40)


class FunnelQuery(AnalysisQuery):
    gap: str | None = Field(None, max_length=40, description="Remaining amount when the node has no target")


class RateOut(Schema):
    rate: str | None = Field(..., description="numerator ÷ denominator, 4 decimals; null without a case")
    numerator: int
    denominator: int
    enough: bool = Field(..., description=f"the sample has at least {MIN_SAMPLE} cases")


class StageRateOut(Schema):
    stage_id: int
    name: str
    entered: int = Field(..., description="deals that entered the stage in the period (analytics.stage_conversion)")
    advanced: int = Field(..., description="of them, reached a later stage or were won")
    rate: str | None = Field(..., description="advanced ÷ entered, 4 decimals")
    median: str | None


class RepCardOut(Schema):
    user_id: int
    name: str
    won_amount: MoneyOut | None
    won_count: int
    lost_count: int
    target: MoneyOut | None
    attainment: str | None
    activities: int
    visits: int
    win_rate: RateOut
    avg_deal_size: MoneyOut | None
    cycle_days: str | None
    stalled_now: int
    stage_rates: list[StageRateOut]


class MediansOut(Schema):
    won_amount: str | None
    won_count: str | None
    attainment: str | None
    activities: str | None
    visits: str | None
    win_rate: str | None
    avg_deal_size: str | None
    cycle_days: str | None
    stalled_now: str | None


class ScorecardOut(Schema):
    node: str
    period: str
    median_of: str
    rows: list[RepCardOut]
    medians: MediansOut
    missing_rates: list[str]


class StageNeedOut(Schema):
    stage_id: int
    name: str
    rate: RateOut
    need: int | None = Field(..., description="deals that must enter the stage (ceiling); null: too few cases")


class FunnelLineOut(Schema):
    node: str
    name: str
    remaining: MoneyOut | None
    gap_source: str = Field(..., description="target, typed or none")
    won_count: int
    avg_won_amount: MoneyOut | None
    cycle_days: str | None
    win_rate: RateOut
    lead_rate: RateOut
    deals_needed: int | None
    stages: list[StageNeedOut]
    leads_needed: int | None


class FunnelOut(Schema):
    node: str
    period: str
    trailing_start: str
    trailing_end: str
    min_sample: int
    team: FunnelLineOut
    reps: list[FunnelLineOut]
    missing_rates: list[str]


class AppraisalOut(Schema):
    appraisal_id: int
    rep_id: int
    rep_name: str
    period: str
    rating: str
    rating_label: str
    comment: str
    author_id: int
    author_name: str
    updated_at: str


class AppraisalQuery(StrictQuery):
    period: str | None = Field(None, max_length=20, description="a month or a quarter key")
    rep_id: int | None = Field(None, ge=1)


class AppraisalIn(StrictSchema):
    rep_id: int = Field(..., ge=1)
    period: str = Field(..., max_length=20, description="a month (2026-12) or a quarter (2026-Q4)")
    rating: str = Field(..., max_length=1, description="A, B, C or D")
    comment: str = Field("", max_length=COMMENT_MAX_LENGTH)


class AppraisalPatch(StrictSchema):
    rating: str | None = Field(None, max_length=1)
    comment: str | None = Field(None, max_length=COMMENT_MAX_LENGTH)


# --- output helpers --------------------------------------------------------------------------


def rate_out(rate: Rate) -> dict[str, Any]:
    return {
        "rate": _dec(rate.value),
        "numerator": rate.numerator,
        "denominator": rate.denominator,
        "enough": rate.enough,
    }


def card_out(
    card: RepCard, stages: list[StageStep], medians: dict[int, Decimal | None], *, money: bool = True
) -> dict[str, Any]:
    """One rep's row; with ``money`` false (support: ``sees_no_money``) every amount is null."""
    f = card.stats
    return {
        "user_id": card.user_id,
        "name": card.name,
        "won_amount": str(f.won_amount) if money else None,
        "won_count": f.won_count,
        "lost_count": f.lost_count,
        "target": str(card.target) if card.target is not None and money else None,
        "attainment": _dec(card.attainment),
        "activities": card.activities,
        "visits": card.visits,
        "win_rate": {
            "rate": _dec(f.win_rate),
            "numerator": f.won_count,
            "denominator": f.won_count + f.lost_count,
            "enough": f.won_count + f.lost_count >= MIN_SAMPLE,
        },
        "avg_deal_size": str(f.avg_won_amount) if f.avg_won_amount is not None and money else None,
        "cycle_days": _dec(f.cycle_days),
        "stalled_now": card.stalled,
        "stage_rates": [step_out(s, card.steps.get(s.stage_id), medians.get(s.stage_id)) for s in stages],
    }


def step_out(stage: StageStep, step: StageStep | None, median: Decimal | None) -> dict[str, Any]:
    entered, advanced = (step.entered, step.advanced) if step is not None else (0, 0)
    return {
        "stage_id": stage.stage_id,
        "name": stage.name,
        "entered": entered,
        "advanced": advanced,
        "rate": _dec(step.rate) if step is not None else None,
        "median": _dec(median),
    }


def line_out(line: FunnelLine, *, money: bool = True) -> dict[str, Any]:
    """One funnel line; with ``money`` false the remaining gap and the average are null."""
    f = line.figures
    return {
        "node": line.node_key,
        "name": line.name,
        "remaining": str(line.remaining) if line.remaining is not None and money else None,
        "gap_source": line.gap_source,
        "won_count": f.won_count,
        "avg_won_amount": str(f.avg_won) if f.avg_won is not None and money else None,
        "cycle_days": _dec(f.cycle_days, 1),
        "win_rate": rate_out(f.win_rate),
        "lead_rate": rate_out(f.lead_rate),
        "deals_needed": line.deals_needed,
        "stages": [
            {"stage_id": s.stage.pk, "name": str(s.stage), "rate": rate_out(s.rate), "need": s.need}
            for s in line.stages
        ],
        "leads_needed": line.leads_needed,
    }


def appraisal_out(a: Appraisal) -> dict[str, Any]:
    return {
        "appraisal_id": a.pk,
        "rep_id": a.rep_id,
        "rep_name": str(a.rep),
        "period": a.period_key,
        "rating": a.rating,
        "rating_label": str(a.get_rating_display()),
        "comment": a.comment,
        "author_id": a.author_id,
        "author_name": str(a.author),
        "updated_at": a.updated_at.isoformat(),
    }


# --- endpoints -------------------------------------------------------------------------------


@router.get("/scorecard", response=ScorecardOut, summary="KPI scorecard of a team or rep, beside the team's median")
def get_scorecard(request: HttpRequest, filters: Query[AnalysisQuery]) -> dict[str, Any]:
    user = _user(request)
    _form, analysis = analysis_or_error(filters.dict(), user)
    card = scorecard(analysis.node, analysis.period, analysis.filters)
    m = card.medians
    money = not sees_no_money(user)
    return {
        "node": analysis.node.key,
        "period": analysis.period.key,
        "median_of": card.median_of.key,
        "rows": [card_out(c, card.stages, m.stage_rates, money=money) for c in card.rows],
        "medians": {
            "won_amount": _dec(m.won_amount) if money else None,
            "won_count": _dec(m.won_count),
            "attainment": _dec(m.attainment),
            "activities": _dec(m.activities),
            "visits": _dec(m.visits),
            "win_rate": _dec(m.win_rate),
            "avg_deal_size": _dec(m.avg_won) if money else None,
            "cycle_days": _dec(m.cycle_days, 1),
            "stalled_now": _dec(m.stalled),
        },
        "missing_rates": sorted(card.missing_rates),
    }


@router.get("/funnel", response=FunnelOut, summary="Funnel math: deals and leads needed to close the gap")
def get_funnel(request: HttpRequest, filters: Query[FunnelQuery]) -> dict[str, Any]:
    data = filters.dict()
    gap = parse_gap(data.pop("gap", None))
    user = _user(request)
    _form, analysis = analysis_or_error(data, user)
    result = funnel(analysis.node, analysis.period, analysis.filters, gap=gap)
    money = not sees_no_money(user)
    return {
        "node": analysis.node.key,
        "period": analysis.period.key,
        "trailing_start": result.trailing_start.isoformat(),
        "trailing_end": result.trailing_end.isoformat(),
        "min_sample": MIN_SAMPLE,
        "team": line_out(result.team, money=money),
        "reps": [line_out(r, money=money) for r in result.reps],
        "missing_rates": sorted(result.missing_rates),
    }


@router.get("/appraisals", response=list[AppraisalOut], summary="Appraisals you may read")
def list_appraisals(request: HttpRequest, filters: Query[AppraisalQuery]) -> list[dict[str, Any]]:
    user = _user(request)
    period = None
    if filters.period:
        try:
            period = appraisal_period(filters.period)
        except ValueError:
            raise ValidationFailed(
                _("Check the filters."),
                field_errors={"period": [_("Enter a month or a quarter, such as 2026-12 or 2026-Q4.")]},
            ) from None
    return [appraisal_out(a) for a in appraisals_for(user, period=period, rep_id=filters.rep_id)[:500]]


@router.post("/appraisals", response={201: AppraisalOut}, summary="Appraise a rep for a month or a quarter")
def create_appraisal(request: HttpRequest, payload: AppraisalIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    try:
        rep = appraisal_rep_for(user, payload.rep_id)
    except Http404:
        raise ValidationFailed(_("Check the appraisal."), field_errors={"rep_id": [_("No such rep.")]}) from None
    appraisal = appraisal_create(
        actor=user, rep=rep, period_key=payload.period, rating=payload.rating, comment=payload.comment
    )
    return 201, appraisal_out(appraisal_for_user(user, appraisal.pk))


@router.get("/appraisals/{int:appraisal_id}", response=AppraisalOut, summary="An appraisal")
def get_appraisal(request: HttpRequest, appraisal_id: int) -> dict[str, Any]:
    return appraisal_out(appraisal_for_user(_user(request), appraisal_id))


@router.patch("/appraisals/{int:appraisal_id}", response=AppraisalOut, summary="Change an appraisal")
def patch_appraisal(request: HttpRequest, appraisal_id: int, payload: AppraisalPatch) -> dict[str, Any]:
    user = _user(request)
    appraisal = appraisal_for_user(user, appraisal_id)
    appraisal_update(actor=user, appraisal=appraisal, rating=payload.rating, comment=payload.comment)
    return appraisal_out(appraisal_for_user(user, appraisal_id))
