"""API of ``salesflow.commissions`` under ``/api/v1/commissions``: plans and rules (everyone
reads, administrators write), statements (read, generate, submit, return, approve, lock,
correct, export) — thin endpoints over the same services and selectors as the pages."""

from __future__ import annotations

from typing import Any, Literal, cast

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Query, Router

from salesflow.commissions.models import CommissionRule, ComputeRun
from salesflow.commissions.permissions import get_plan, get_statement_for_user
from salesflow.commissions.presenters import line_out, plan_out, rule_out, statement_out
from salesflow.commissions.schemas import (
    CommissionPlanIn,
    CommissionPlanOut,
    CommissionReasonIn,
    CommissionRuleIn,
    CommissionRuleOut,
    CommissionRulePatch,
    ComputeIn,
    ComputeRunOut,
    GenerateIn,
    PlanPatch,
    StatementDetailOut,
    StatementPage,
    StatementQuery,
)
from salesflow.commissions.selectors import StatementFilters, plan_list, statement_lines, statement_list
from salesflow.commissions.services import (
    PlanChanges,
    RuleChanges,
    TierInput,
    plan_create,
    plan_delete,
    plan_update,
    rep_for_statement,
    rule_create,
    rule_delete,
    rule_update,
    statement_approve,
    statement_correct,
    statement_export,
    statement_generate,
    statement_lock,
    statement_period,
    statement_return,
    statement_submit,
    statements_compute_start,
)
from salesflow.users.models import User

router = Router(tags=["commissions"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _plan(plan_id: int) -> dict[str, Any]:
    return plan_out(plan_list().get(pk=get_plan(plan_id).pk))


def _rule(rule_id: int) -> CommissionRule:
    if not 0 < rule_id < 2**63:
        raise Http404
    found = CommissionRule.objects.filter(pk=rule_id).first()
    if found is None:
        raise Http404
    return found


def _detail(request: HttpRequest, statement_id: int) -> dict[str, Any]:
    statement = get_statement_for_user(_user(request), statement_id)
    data = statement_out(statement)
    data["lines"] = [line_out(line, statement.currency) for line in statement_lines(statement)]
    return data


# --- plans and rules ------------------------------------------------------------------------


@router.get("/plans", response=list[CommissionPlanOut], summary="Commission plans with their rules and tiers")
def list_plans(request: HttpRequest) -> list[dict[str, Any]]:
    return [plan_out(p) for p in plan_list()[:100]]


@router.post("/plans", response={201: CommissionPlanOut}, summary="Create a commission plan (administrators)")
def create_plan(request: HttpRequest, payload: CommissionPlanIn) -> tuple[int, dict[str, Any]]:
    plan = plan_create(
        actor=_user(request),
        name=payload.name,
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
        active=payload.active,
        notes=payload.notes,
    )
    return 201, _plan(plan.pk)


@router.get("/plans/{int:plan_id}", response=CommissionPlanOut, summary="A commission plan")
def get_plan_detail(request: HttpRequest, plan_id: int) -> dict[str, Any]:
    return _plan(plan_id)


@router.patch("/plans/{int:plan_id}", response=CommissionPlanOut, summary="Change a commission plan (administrators)")
def patch_plan(request: HttpRequest, plan_id: int, payload: PlanPatch) -> dict[str, Any]:
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    plan_update(actor=_user(request), plan=get_plan(plan_id), **cast(PlanChanges, changes))
    return _plan(plan_id)


@router.delete("/plans/{int:plan_id}", response={204: None}, summary="Delete an unused plan (administrators)")
def delete_plan(request: HttpRequest, plan_id: int) -> tuple[int, None]:
    plan_delete(actor=_user(request), plan=get_plan(plan_id))
    return 204, None


def _tiers(rows: list[Any]) -> list[TierInput]:
    return [TierInput(threshold=t.threshold, multiplier=t.multiplier) for t in rows]


@router.post("/plans/{int:plan_id}/rules", response={201: CommissionRuleOut}, summary="Add a rule (administrators)")
def create_rule(request: HttpRequest, plan_id: int, payload: CommissionRuleIn) -> tuple[int, dict[str, Any]]:
    rule = rule_create(
        actor=_user(request),
        plan=get_plan(plan_id),
        name=payload.name,
        basis=payload.basis,
        role=payload.role,
        product_line_id=payload.product_line_id,
        rate=payload.rate,
        tiers=_tiers(payload.tiers),
    )
    return 201, rule_out(rule)


@router.patch("/rules/{int:rule_id}", response=CommissionRuleOut, summary="Change a rule (administrators)")
def patch_rule(request: HttpRequest, rule_id: int, payload: CommissionRulePatch) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    changes: dict[str, Any] = {k: v for k, v in data.items() if v is not None and k != "tiers"}
    if payload.tiers is not None:
        changes["tiers"] = _tiers(payload.tiers)
    if "product_line_id" in data:
        changes["product_line_id"] = data["product_line_id"] or None
    rule = rule_update(actor=_user(request), rule=_rule(rule_id), **cast(RuleChanges, changes))
    return rule_out(rule)


@router.delete("/rules/{int:rule_id}", response={204: None}, summary="Delete a rule (administrators)")
def delete_rule(request: HttpRequest, rule_id: int) -> tuple[int, None]:
    rule_delete(actor=_user(request), rule=_rule(rule_id))
    return 204, None


# --- statements -----------------------------------------------------------------------------


@router.get("/statements", response=StatementPage, summary="Statements the caller may see, newest first")
def list_statements(request: HttpRequest, filters: Query[StatementQuery]) -> dict[str, Any]:
    period = statement_period(filters.period).key if filters.period else ""
    qs = statement_list(
        _user(request), StatementFilters(period_key=period, rep_id=filters.rep_id or None, status=filters.status)
    )
    rows = list(qs[filters.offset : filters.offset + filters.limit])
    return {"count": qs.count(), "items": [statement_out(s) for s in rows]}


@router.post("/statements/generate", response={201: StatementDetailOut}, summary="Generate or recompute a draft")
def generate_statement(request: HttpRequest, payload: GenerateIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    rep = rep_for_statement(user, payload.rep_id)
    statement = statement_generate(actor=user, rep=rep, period_key=payload.period)
    return 201, _detail(request, statement.pk)


def _run_out(run: ComputeRun) -> dict[str, Any]:
    return {
        "run_id": run.pk,
        "period": run.period_key,
        "status": run.status,
        "total": run.total,
        "done": run.done,
        "made": run.made,
        "failures": [str(f) for f in run.failures],
    }


@router.post(
    "/statements/compute",
    response={202: ComputeRunOut},
    summary="Compute the drafts of everyone I manage, in the background",
)
def compute_statements(request: HttpRequest, payload: ComputeIn) -> tuple[int, dict[str, Any]]:
    run = statements_compute_start(actor=_user(request), period_key=payload.period)
    return 202, _run_out(run)


@router.get("/compute-runs/{int:run_id}", response=ComputeRunOut, summary="Progress of a background computation")
def get_compute_run(request: HttpRequest, run_id: int) -> dict[str, Any]:
    user = _user(request)
    run = ComputeRun.objects.filter(pk=run_id).first() if 0 < run_id < 2**63 else None
    if run is None or not (user.is_admin or run.requested_by_id == user.pk):
        raise Http404
    return _run_out(run)


@router.get("/statements/{int:statement_id}", response=StatementDetailOut, summary="A statement with its lines")
def get_statement(request: HttpRequest, statement_id: int) -> dict[str, Any]:
    return _detail(request, statement_id)


@router.post("/statements/{int:statement_id}/submit", response=StatementDetailOut, summary="Submit a draft")
def submit_statement(request: HttpRequest, statement_id: int) -> dict[str, Any]:
    statement_submit(actor=_user(request), statement=get_statement_for_user(_user(request), statement_id))
    return _detail(request, statement_id)


@router.post("/statements/{int:statement_id}/return", response=StatementDetailOut, summary="Send back to draft")
def return_statement(request: HttpRequest, statement_id: int, payload: CommissionReasonIn) -> dict[str, Any]:
    user = _user(request)
    statement_return(actor=user, statement=get_statement_for_user(user, statement_id), reason=payload.reason)
    return _detail(request, statement_id)


@router.post("/statements/{int:statement_id}/approve", response=StatementDetailOut, summary="Approve (manager)")
def approve_statement(request: HttpRequest, statement_id: int) -> dict[str, Any]:
    statement_approve(actor=_user(request), statement=get_statement_for_user(_user(request), statement_id))
    return _detail(request, statement_id)


@router.post("/statements/{int:statement_id}/lock", response=StatementDetailOut, summary="Lock (administrators)")
def lock_statement(request: HttpRequest, statement_id: int) -> dict[str, Any]:
    statement_lock(actor=_user(request), statement=get_statement_for_user(_user(request), statement_id))
    return _detail(request, statement_id)


@router.post(
    "/statements/{int:statement_id}/correct", response={201: StatementDetailOut}, summary="Correct a locked statement"
)
def correct_statement(request: HttpRequest, statement_id: int) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    correction = statement_correct(actor=user, statement=get_statement_for_user(user, statement_id))
    return 201, _detail(request, correction.pk)


@router.get("/statements/{int:statement_id}/export", summary="The statement as CSV or XLSX")
def export_statement(request: HttpRequest, statement_id: int, format: Literal["csv", "xlsx"] = "xlsx") -> HttpResponse:
    user = _user(request)
    content, name, content_type = statement_export(
        actor=user, statement=get_statement_for_user(user, statement_id), fmt=format
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
