"""Pages of commissions: rules (settings), statements list, statement detail — thin views over
the services and selectors the API uses."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesflow.commissions.choices import StatementStatus
from salesflow.commissions.forms import GenerateForm, PlanForm, RuleForm, StatementFilterForm
from salesflow.commissions.models import CommissionRule
from salesflow.commissions.permissions import (
    can_approve,
    can_generate,
    can_manage_rules,
    can_submit,
    get_plan,
    get_statement_for_user,
    manages_rep,
)
from salesflow.commissions.selectors import (
    StatementFilters,
    plan_list,
    reps_managed_by,
    reps_visible_to,
    rules_for,
    statement_lines,
    statement_list,
)
from salesflow.commissions.services import (
    PlanChanges,
    RuleChanges,
    TierInput,
    latest_compute_run,
    plan_create,
    plan_delete,
    plan_update,
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
from salesflow.core.errors import ServiceError, ValidationFailed
from salesflow.core.web import apply_service_error
from salesflow.users.models import User

LIST_LIMIT = 200


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _error_text(exc: ServiceError) -> str:
    details = [m for msgs in exc.field_errors.values() for m in msgs]
    return " ".join([str(exc.message), *details]) if details else str(exc.message)


# --- rules (settings) -----------------------------------------------------------------------


@require_GET
def rules_view(request: HttpRequest) -> HttpResponse:
    plans = list(plan_list()[:50])
    return render(request, "commissions/rules.html", {"plans": plans, "can_edit": can_manage_rules(_user(request))})


def _require_admin(request: HttpRequest) -> None:
    if not can_manage_rules(_user(request)):
        raise PermissionDenied


@require_http_methods(["GET", "POST"])
def plan_form_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_admin(request)
    plan = get_plan(pk) if pk is not None else None
    initial = (
        {
            "name": plan.name,
            "valid_from": plan.valid_from,
            "valid_to": plan.valid_to,
            "active": plan.active,
            "notes": plan.notes,
        }
        if plan
        else {"active": True}
    )
    form = PlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if plan is None:
                plan = plan_create(actor=_user(request), **data)
            else:
                plan_update(actor=_user(request), plan=plan, **cast(PlanChanges, data))
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The plan was saved."))
            return redirect("commissions:rules")
    return render(request, "commissions/plan_form.html", {"form": form, "plan": plan})


@require_POST
def plan_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    try:
        plan_delete(actor=_user(request), plan=get_plan(pk))
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The plan was deleted."))
    return redirect("commissions:rules")


def _rule(pk: int) -> CommissionRule:
    found = CommissionRule.objects.select_related("plan").filter(pk=pk).first() if 0 < pk < 2**63 else None
    if found is None:
        raise Http404
    return found


def _tier_errors(form: RuleForm, exc: ServiceError, rows: list[int]) -> ServiceError:
    """Map ``tiers.N.threshold`` onto the form's ``threshold_<row>`` fields."""
    mapped: dict[str, list[str]] = {}
    for key, msgs in exc.field_errors.items():
        parts = key.split(".")
        if parts[0] == "tiers" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            mapped[f"{parts[2]}_{rows[int(parts[1])]}"] = msgs
        elif key == "product_line_id":
            mapped["product_line"] = msgs
        else:
            mapped[key] = msgs
    return ValidationFailed(exc.message, field_errors=mapped)


@require_http_methods(["GET", "POST"])
def rule_form_view(request: HttpRequest, plan_pk: int | None = None, pk: int | None = None) -> HttpResponse:
    _require_admin(request)
    rule = _rule(pk) if pk is not None else None
    plan = rule.plan if rule is not None else get_plan(plan_pk or 0)
    initial: dict[str, Any] = {}
    if rule is not None:
        initial = {
            "name": rule.name,
            "basis": rule.basis,
            "role": rule.role,
            "product_line": rule.product_line,
            "rate": f"{rule.rate:f}",
        }
        for i, tier in enumerate(rule.tiers.all()):
            initial[f"threshold_{i}"] = f"{tier.threshold:f}"
            initial[f"multiplier_{i}"] = f"{tier.multiplier:f}"
    rows = max(RuleForm.TIER_ROWS, (rule.tiers.count() + 1) if rule else 0)
    form = RuleForm(request.POST or None, initial=initial, tier_rows=rows)
    if rule is not None:
        form.fields["basis"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        filled = form.tiers()
        tiers = [TierInput(threshold=t, multiplier=m) for t, m, _row in filled]
        line = data["product_line"]
        try:
            if rule is None:
                rule_create(
                    actor=_user(request),
                    plan=plan,
                    name=data["name"],
                    basis=data["basis"],
                    role=data["role"],
                    product_line_id=line.pk if line else None,
                    rate=data["rate"],
                    tiers=tiers,
                )
            else:
                changes: RuleChanges = {
                    "name": data["name"],
                    "role": data["role"],
                    "product_line_id": line.pk if line else None,
                    "rate": data["rate"],
                    "tiers": tiers,
                }
                rule_update(actor=_user(request), rule=rule, **changes)
        except ServiceError as exc:
            apply_service_error(form, _tier_errors(form, exc, [row for _t, _m, row in filled]))
        else:
            messages.success(request, _("The rule was saved."))
            return redirect("commissions:rules")
    return render(request, "commissions/rule_form.html", {"form": form, "plan": plan, "rule": rule})


@require_POST
def rule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    rule_delete(actor=_user(request), rule=_rule(pk))
    messages.success(request, _("The rule was deleted."))
    return redirect("commissions:rules")


# --- statements -----------------------------------------------------------------------------


@require_GET
def statements_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = StatementFilterForm(request.GET or None, reps=reps_visible_to(user))
    filters = StatementFilters()
    if form.is_valid():
        data = form.cleaned_data
        period = ""
        if data["period"]:
            try:
                period = statement_period(data["period"]).key
            except ValidationFailed as exc:
                form.add_error("period", exc.field_errors.get("period", [str(exc.message)])[0])
        rep = data["rep"]
        filters = StatementFilters(period_key=period, rep_id=rep.pk if rep else None, status=data["status"] or "")
    rows = list(statement_list(user, filters)[: LIST_LIMIT + 1])
    managed = reps_managed_by(user)
    return render(
        request,
        "commissions/statements.html",
        {
            "form": form,
            "statements": rows[:LIST_LIMIT],
            "more": len(rows) > LIST_LIMIT,
            "generate_form": GenerateForm(reps=managed) if (user.is_admin or managed.exists()) else None,
            "run": latest_compute_run(user),
        },
    )


@require_POST
def statement_generate_view(request: HttpRequest) -> HttpResponse:
    """One rep: computed now. Everyone I manage: queued as a background computation whose
    progress the statements page shows."""
    user = _user(request)
    managed = reps_managed_by(user)
    form = GenerateForm(request.POST, reps=managed)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("commissions:statements")
    rep = form.cleaned_data["rep"]
    period_key = form.cleaned_data["period"]
    try:
        if rep is None:
            statements_compute_start(actor=user, period_key=period_key)
            messages.success(request, _("The statements are being computed in the background."))
            return redirect("commissions:statements")
        made = statement_generate(actor=user, rep=rep, period_key=period_key)
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
        return redirect("commissions:statements")
    messages.success(request, _("%(n)d statements computed.") % {"n": 1})
    return redirect("commissions:statement", pk=made.pk)


@require_GET
def compute_progress_view(request: HttpRequest) -> HttpResponse:
    """The progress of the reader's newest computation (polled by htmx while it runs)."""
    return render(request, "commissions/partials/compute_progress.html", {"run": latest_compute_run(_user(request))})


@require_GET
def statement_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    statement = get_statement_for_user(user, pk)
    lines = list(statement_lines(statement))
    rep = statement.rep
    status = statement.status
    return render(
        request,
        "commissions/statement.html",
        {
            "statement": statement,
            "lines": lines,
            "rules": rules_for(statement.plan, rep.role),
            "may": {
                "recompute": status == StatementStatus.DRAFT and can_generate(user, rep),
                "submit": status == StatementStatus.DRAFT and can_submit(user, rep),
                "return": status in (StatementStatus.SUBMITTED, StatementStatus.APPROVED) and manages_rep(user, rep),
                "approve": status == StatementStatus.SUBMITTED and can_approve(user, rep),
                "lock": status == StatementStatus.APPROVED and can_manage_rules(user),
                "correct": status == StatementStatus.LOCKED and can_generate(user, rep),
            },
        },
    )


@require_POST
def statement_action_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = _user(request)
    statement = get_statement_for_user(user, pk)
    target = statement
    try:
        if action == "recompute":
            target = statement_generate(actor=user, rep=statement.rep, period_key=statement.period_key)
        elif action == "submit":
            statement_submit(actor=user, statement=statement)
        elif action == "return":
            statement_return(actor=user, statement=statement, reason=request.POST.get("reason", ""))
        elif action == "approve":
            statement_approve(actor=user, statement=statement)
        elif action == "lock":
            statement_lock(actor=user, statement=statement)
        elif action == "correct":
            target = statement_correct(actor=user, statement=statement)
        else:
            raise Http404
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Done."))
    return redirect("commissions:statement", pk=target.pk)


@require_GET
def statement_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    statement = get_statement_for_user(user, pk)
    fmt = request.GET.get("format", "xlsx")
    try:
        content, name, content_type = statement_export(actor=user, statement=statement, fmt=fmt)
    except ServiceError:
        raise Http404 from None
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
