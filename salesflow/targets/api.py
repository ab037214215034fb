"""API of ``salesflow.targets`` under ``/api/v1/plans``: thin endpoints over its selectors and
services. Reading: administrators and managers read every plan; everyone reads the targets of
the nodes they may see (``analytics.selectors.nodes_visible_to``). Writing: the services."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest, QueryDict
from ninja import Query, Router

from salesflow.analytics.forms import AnalysisFilterForm
from salesflow.core.errors import ValidationFailed
from salesflow.targets import services
from salesflow.targets.models import PlanVersion, SalesPlan
from salesflow.targets.schemas import (
    AllocateIn,
    AttainmentOut,
    AttainmentPage,
    LeaderboardOut,
    NotesIn,
    SeasonalityIn,
    TargetCommentIn,
    TargetOut,
    TargetPlanIn,
    TargetPlanOut,
    TargetQuery,
    TargetsIn,
    TargetVersionOut,
)
from salesflow.targets.selectors import (
    attainment_page,
    leaderboard,
    leaderboard_team,
    plan_metric,
    plans_for,
    version_for_user,
    version_targets,
    without_money,
)
from salesflow.users.models import User

router = Router(tags=["plans"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def version_out(v: PlanVersion) -> dict[str, Any]:
    return {
        "version_id": v.pk,
        "plan_id": v.plan_id,
        "year": v.plan.year,
        "number": v.number,
        "status": v.status,
        "approval_request_id": v.approval_request_id,
        "submitted_by_id": v.submitted_by_id,
        "approved_by_id": v.approved_by_id,
        "submitted_at": v.submitted_at,
        "approved_at": v.approved_at,
        "product_strategy": v.product_strategy,
        "price_strategy": v.price_strategy,
        "channel_strategy": v.channel_strategy,
        "promotion_strategy": v.promotion_strategy,
        "seasonality": v.seasonality or {},
    }


def plan_out(plan: SalesPlan) -> dict[str, Any]:
    return {"plan_id": plan.pk, "year": plan.year, "versions": [version_out(v) for v in plan.versions.all()]}


def _plan(user: User, plan_id: int) -> SalesPlan:
    plan = plans_for(user).filter(pk=plan_id).first()
    if plan is None:
        raise Http404("plan not found")
    return plan


def _version(user: User, version_id: int) -> PlanVersion:
    return version_for_user(user, version_id)


@router.get("/", response=list[TargetPlanOut], summary="Sales plans, newest year first, with their versions")
def list_plans(request: HttpRequest) -> list[dict[str, Any]]:
    return [plan_out(p) for p in plans_for(_user(request))]


@router.post("/", response={201: TargetPlanOut}, summary="Create the plan of a fiscal year (version 1, draft)")
def create_plan(request: HttpRequest, payload: TargetPlanIn) -> tuple[int, dict[str, Any]]:
    plan = services.plan_create(actor=_user(request), year=payload.year)
    return 201, plan_out(_plan(_user(request), plan.pk))


@router.post(
    "/versions/{int:version_id}/revise",
    response={201: TargetVersionOut},
    summary="A new draft of this version's plan, copied from its latest locked version",
)
def revise_plan(request: HttpRequest, version_id: int) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    plan = _version(user, version_id).plan
    draft = services.plan_version_revise(actor=user, plan=plan)
    return 201, version_out(_version(user, draft.pk))


@router.get("/versions/{int:version_id}", response=TargetVersionOut, summary="A plan version")
def get_version(request: HttpRequest, version_id: int) -> dict[str, Any]:
    return version_out(_version(_user(request), version_id))


@router.patch("/versions/{int:version_id}/notes", response=TargetVersionOut, summary="Strategy notes of a draft")
def patch_notes(request: HttpRequest, version_id: int, payload: NotesIn) -> dict[str, Any]:
    user = _user(request)
    notes = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    services.plan_version_update_notes(actor=user, version=_version(user, version_id), notes=notes)
    return version_out(_version(user, version_id))


@router.get("/versions/{int:version_id}/targets", response=list[TargetOut], summary="Targets of a version")
def get_targets(request: HttpRequest, version_id: int, query: Query[TargetQuery]) -> list[dict[str, Any]]:
    user = _user(request)
    if plan_metric(query.metric) is None:
        raise ValidationFailed("Unknown metric.", field_errors={"metric": ["Unknown metric."]})
    return version_targets(user, _version(user, version_id), query.metric)


@router.put("/versions/{int:version_id}/targets", response=list[TargetOut], summary="Set target cells of a draft")
def put_targets(request: HttpRequest, version_id: int, payload: TargetsIn) -> list[dict[str, Any]]:
    user = _user(request)
    version = _version(user, version_id)
    cells = [(c.node, c.period, c.value) for c in payload.cells]
    services.targets_set(actor=user, version=version, metric_key=payload.metric, cells=cells)
    return version_targets(user, version, payload.metric)


@router.post("/versions/{int:version_id}/allocate", response=list[TargetOut], summary="Allocate a target top-down")
def allocate(request: HttpRequest, version_id: int, payload: AllocateIn) -> list[dict[str, Any]]:
    user = _user(request)
    version = _version(user, version_id)
    services.targets_allocate(
        actor=user,
        version=version,
        metric_key=payload.metric,
        node_key=payload.node,
        period_key=payload.period,
        along=payload.along,
        basis=payload.basis,
        cascade=payload.cascade,
    )
    return version_targets(user, version, payload.metric)


@router.post(
    "/versions/{int:version_id}/seasonality", response=TargetVersionOut, summary="Monthly seasonality of a node"
)
def seasonality(request: HttpRequest, version_id: int, payload: SeasonalityIn) -> dict[str, Any]:
    user = _user(request)
    services.seasonality_set(
        actor=user,
        version=_version(user, version_id),
        node_key=payload.node,
        weights=payload.weights,
        metric_key=payload.metric,
    )
    return version_out(_version(user, version_id))


@router.post("/versions/{int:version_id}/submit", response=TargetVersionOut, summary="Submit a draft for approval")
def submit(request: HttpRequest, version_id: int) -> dict[str, Any]:
    user = _user(request)
    services.plan_version_submit(actor=user, version=_version(user, version_id))
    return version_out(_version(user, version_id))


@router.post(
    "/versions/{int:version_id}/approve", response=TargetVersionOut, summary="Approve and lock (manager approval)"
)
def approve(request: HttpRequest, version_id: int) -> dict[str, Any]:
    user = _user(request)
    services.plan_version_approve(actor=user, version=_version(user, version_id))
    return version_out(_version(user, version_id))


@router.post(
    "/versions/{int:version_id}/return", response=TargetVersionOut, summary="Return a submitted version to draft"
)
def return_version(request: HttpRequest, version_id: int, payload: TargetCommentIn) -> dict[str, Any]:
    user = _user(request)
    services.plan_version_return(actor=user, version=_version(user, version_id), comment=payload.comment)
    return version_out(_version(user, version_id))


def _filters(request: HttpRequest) -> Any:
    data = QueryDict(mutable=True)
    for key in ("period", "node", "pipeline", "product_line", "region", "source"):
        if key in request.GET:
            data[key] = request.GET[key]
    form = AnalysisFilterForm(data, user=_user(request))
    if not form.is_valid():
        raise ValidationFailed(
            "Check the filters.", field_errors={k: [str(m) for m in v] for k, v in form.errors.items()}
        )
    return form.analysis()


@router.get(
    "/attainment",
    response=AttainmentPage,
    summary="Actual vs target, pace, gap and projection of a node and its children",
    description="Query: period, node, pipeline, product_line, region, source (analytics filter form); "
    "metric (default won_revenue) chooses the metric of the children rows.",
)
def get_attainment(request: HttpRequest) -> dict[str, Any]:
    analysis = _filters(request)
    metric = request.GET.get("metric", "won_revenue")
    if plan_metric(metric[:40]) is None:
        raise ValidationFailed("Unknown metric.", field_errors={"metric": ["Unknown metric."]})
    return attainment_page(_user(request), analysis, metric)


@router.get(
    "/leaderboard",
    response=LeaderboardOut,
    summary="Reps of a team ranked by attainment ratio",
    description="Query: team_id (default your own team), metric (default won_revenue), period.",
)
def get_leaderboard(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    team = leaderboard_team(user, request.GET.get("team_id", ""))
    analysis = _filters(request)
    metric = request.GET.get("metric", "won_revenue")
    if plan_metric(metric[:40]) is None:
        raise ValidationFailed("Unknown metric.", field_errors={"metric": ["Unknown metric."]})
    rows = without_money(user, leaderboard(team, metric, analysis.period), metric)
    return {"team_id": team.pk, "metric": metric, "period": analysis.period.key, "rows": rows}


__all__ = ["AttainmentOut", "router"]
