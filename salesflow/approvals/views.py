"""Pages of the approval engine: the inbox, a request page with its buttons, the deal
panel, the rules settings (administrators) and delegations. Thin callers of
``approvals.services`` and ``approvals.selectors``."""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesflow.approvals.choices import RequestStatus
from salesflow.approvals.conditions import describe_condition
from salesflow.approvals.forms import DecisionForm, DelegationForm, RuleForm
from salesflow.approvals.models import ApprovalRequest
from salesflow.approvals.permissions import get_request_for_user
from salesflow.approvals.selectors import (
    INBOX_LIMIT,
    decided_by,
    delegations_for,
    document_requests,
    pending_for,
    pending_request_id,
    request_detail,
    requested_by,
    rules_list,
)
from salesflow.approvals.services import (
    DEAL_KIND,
    allowed_actions,
    deal_request_approval,
    delegation_delete,
    delegation_save,
    request_approve,
    request_reject,
    request_resubmit,
    request_return,
    request_withdraw,
    rule_delete,
    rule_save,
)
from salesflow.core.approvals import approvable
from salesflow.core.errors import ServiceError
from salesflow.core.web import apply_service_error
from salesflow.sales.permissions import can_write_opportunity, get_opportunity_for_user
from salesflow.users.models import User

BOXES = ("pending", "decided", "mine")


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@require_GET
def inbox_view(request: HttpRequest) -> HttpResponse:
    """My approvals: waiting for me (also as a delegate), decided by me, my requests."""
    user = _user(request)
    box = request.GET.get("box", "pending")
    if box not in BOXES:
        box = "pending"
    qs = {"pending": pending_for, "decided": decided_by, "mine": requested_by}[box](user)
    rows = list(qs[:INBOX_LIMIT])
    context = {
        "box": box,
        "rows": rows,
        "pending_count": len(rows) if box == "pending" else pending_for(user).count(),
        "section": "approvals",
    }
    return render(request, "approvals/inbox.html", context)


def _document(item: ApprovalRequest, user: User) -> tuple[Any, str, str]:
    doc = approvable(item.kind)
    if doc is None:
        return None, item.kind, ""
    target = doc.model._default_manager.filter(pk=item.object_id).first()
    url = doc.url(target) if target is not None and doc.can_read(user, target) else ""
    return target, str(doc.label), url


def _facts(item: ApprovalRequest) -> list[tuple[str, Any]]:
    from salesflow.approvals.conditions import FACT_LABELS

    shown = []
    for key, value in item.facts.items():
        if value is None or value == [] or key in ("owner_id", "team_id"):
            continue
        if isinstance(value, bool):
            value = _("Yes") if value else _("No")
        elif isinstance(value, list):
            value = "、".join(str(v) for v in value)
        elif key == "amount":
            with contextlib.suppress(InvalidOperation):
                value = f"{Decimal(str(value)):,.2f}"
        shown.append((str(FACT_LABELS.get(key, key)), value))
    return shown


def _detail_context(request: HttpRequest, item: ApprovalRequest, form: DecisionForm | None = None) -> dict[str, Any]:
    user = _user(request)
    item = request_detail(item)
    _target, label, url = _document(item, user)
    allowed = allowed_actions(item, user)
    return {
        "item": item,
        "steps": list(item.steps.all()),
        "actions": list(item.actions.all()),
        "facts": _facts(item),
        "document_label": label,
        "document_url": url,
        "allowed": allowed,
        "form": form or DecisionForm(initial={"step": item.current_step or None}),
        "section": "approvals",
    }


@require_GET
def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A request: the document summary, facts, route with step states, history, buttons."""
    item = get_request_for_user(_user(request), pk)
    return render(request, "approvals/detail.html", _detail_context(request, item))


_ACTIONS = ("approve", "reject", "return", "resubmit", "withdraw")


@require_POST
def act_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Approve, reject, return, resubmit or withdraw; a refusal shows on the page (400/409),
    403 for someone who may not act."""
    user = _user(request)
    if action not in _ACTIONS:
        raise Http404("unknown action")
    item = get_request_for_user(user, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return render(request, "approvals/detail.html", _detail_context(request, item, form), status=400)
    data = form.cleaned_data
    comment, step = data["comment"], data["step"]
    try:
        if action == "approve":
            request_approve(actor=user, request_id=item.pk, comment=comment, step=step)
            messages.success(request, _("You approved the request."))
        elif action == "reject":
            request_reject(actor=user, request_id=item.pk, comment=comment, step=step)
            messages.success(request, _("You rejected the request."))
        elif action == "return":
            to_step = data["to_step"]
            request_return(
                actor=user,
                request_id=item.pk,
                to_step=to_step if to_step is not None else -1,
                comment=comment,
                step=step,
            )
            messages.success(request, _("You returned the request."))
        elif action == "resubmit":
            request_resubmit(actor=user, request_id=item.pk, comment=comment)
            messages.success(request, _("The request was sent on again."))
        else:
            request_withdraw(actor=user, request_id=item.pk)
            messages.success(request, _("You withdrew the request."))
    except ServiceError as exc:
        if exc.status_code == 403:
            raise PermissionDenied(str(exc.message)) from None
        apply_service_error(form, exc)
        return render(request, "approvals/detail.html", _detail_context(request, item, form), status=exc.status_code)
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
        return redirect(back)  # e.g. withdrawn from the document's page: back to the document
    return redirect("approvals:detail", pk=item.pk)


# --- the approval state on a document's page ------------------------------------------------------


@require_GET
def document_panel_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The pending approval of a document (quote, contract, change order…) on its own page
    (htmx slot): the current step, the last comment of a return, a link to the request, and
    for the requester "Withdraw" (the document can be edited again) or "Send on again".
    Unknown kind or unseen document → 404; no pending request → an empty answer."""
    user = _user(request)
    doc = approvable(kind)
    if doc is None:
        raise Http404("unknown kind")
    target = doc.model._default_manager.filter(pk=pk).first()
    if target is None or not doc.can_read(user, target):
        raise Http404("document not found")
    request_id = pending_request_id(kind, pk)
    if request_id is None:
        return HttpResponse("")
    item = request_detail(ApprovalRequest(pk=request_id))
    steps = list(item.steps.all())
    returned = [a for a in item.actions.all() if a.action == "returned"]
    context = {
        "item": item,
        "current": next((s for s in steps if s.position == item.current_step), None),
        "returned": returned[-1] if returned else None,
        "allowed": allowed_actions(item, user),
        "next": doc.url(target),
    }
    return render(request, "approvals/partials/document_panel.html", context)


# --- the deal panel -------------------------------------------------------------------------------


def _deal_panel(request: HttpRequest, opportunity: Any, *, status: int = 200, error: str = "") -> HttpResponse:
    user = _user(request)
    requests = document_requests(DEAL_KIND, opportunity.pk, user)
    context = {
        "opportunity": opportunity,
        "requests": requests,
        "latest": requests[0] if requests else None,
        "pending": any(r.status == RequestStatus.PENDING for r in requests),
        "can_request": can_write_opportunity(user, opportunity),
        "error": error,
    }
    return render(request, "approvals/partials/deal_panel.html", context, status=status)


@require_GET
def deal_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The large-deal approval panel of a deal page (htmx): status, history, request button."""
    opportunity = get_opportunity_for_user(_user(request), pk)
    return _deal_panel(request, opportunity)


@require_POST
def deal_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for large-deal approval; answers the refreshed panel (with the refusal, if any)."""
    user = _user(request)
    opportunity = get_opportunity_for_user(user, pk, write=True)
    try:
        submission = deal_request_approval(actor=user, opportunity_id=opportunity.pk)
    except ServiceError as exc:
        if exc.status_code == 403:
            raise PermissionDenied(str(exc.message)) from None
        errors = [str(exc.message), *(m for ms in exc.field_errors.values() for m in ms)]
        # htmx swaps only 2xx answers: the refusal is shown inside the panel
        status = 200 if request.headers.get("HX-Request") else exc.status_code
        return _deal_panel(request, opportunity, status=status, error=" ".join(errors))
    if submission.status == "approved":
        messages.success(request, _("No approval rule applies to this deal: it is approved."))
    return _deal_panel(request, opportunity)


# --- rules (administrators) -----------------------------------------------------------------------


def _require_admin(request: HttpRequest) -> User:
    user = _user(request)
    if not user.is_admin:
        raise PermissionDenied(_("Only administrators configure approval rules."))
    return user


_STEP_ERROR = re.compile(r"^steps\.(\d+)\.(\w+)$")
_COND_ERROR = re.compile(r"^conditions\.(\d+)$")


def _apply_rule_error(form: RuleForm, exc: ServiceError) -> None:
    mapped: dict[str, list[str]] = {}
    for key, msgs in exc.field_errors.items():
        step, cond = _STEP_ERROR.match(key), _COND_ERROR.match(key)
        if step:
            part = "users" if step.group(2) == "user_ids" else step.group(2)
            key = f"s{step.group(1)}_{part}"
        elif cond:
            key = f"c{cond.group(1)}_value"
        elif key == "steps":
            key = "s0_name"
        mapped.setdefault(key, []).extend(msgs)
    exc.field_errors = mapped
    apply_service_error(form, exc)


def _rule_rows() -> list[dict[str, Any]]:
    rows = []
    for rule in rules_list()[:500]:
        rows.append(
            {
                "rule": rule,
                "conditions": [describe_condition(c.fact, c.operator, c.value) for c in rule.conditions.all()],
                "steps": list(rule.steps.all()),
            }
        )
    return rows


@require_http_methods(["GET", "POST"])
def rules_view(request: HttpRequest) -> HttpResponse:
    """Every rule by document type and priority, and the form for a new one."""
    user = _require_admin(request)
    form = RuleForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rule_save(actor=user, **form.rule_data())
            except ServiceError as exc:
                _apply_rule_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, _("The approval rule was saved."))
                return redirect("approvals:rules")
        else:
            status = 400
    context = {"rows": _rule_rows(), "form": form, "section": "approvals"}
    return render(request, "approvals/rules.html", context, status=status)


@require_http_methods(["GET", "POST"])
def rule_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit one rule (conditions and steps replaced as a whole)."""
    user = _require_admin(request)
    rule = rules_list().filter(pk=pk).first()
    if rule is None:
        raise Http404("no such rule")
    form = RuleForm(request.POST or None, initial=RuleForm.initial_for(rule))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rule_save(actor=user, rule=rule, **form.rule_data())
            except ServiceError as exc:
                _apply_rule_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, _("The approval rule was saved."))
                return redirect("approvals:rules")
        else:
            status = 400
    return render(
        request, "approvals/rule_form.html", {"form": form, "rule": rule, "section": "approvals"}, status=status
    )


@require_POST
def rule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require_admin(request)
    rule = rules_list().filter(pk=pk).first()
    if rule is None:
        raise Http404("no such rule")
    rule_delete(actor=user, rule=rule)
    messages.success(request, _("The approval rule was deleted."))
    return redirect("approvals:rules")


# --- delegations ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def delegations_view(request: HttpRequest) -> HttpResponse:
    """Delegations I gave or received (administrators: all) and the form to add one."""
    user = _user(request)
    form = DelegationForm(request.POST or None, admin=user.is_admin)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            away = data.get("user") or user
            try:
                delegation_save(
                    actor=user,
                    user_id=away.pk,
                    delegate_id=data["delegate"].pk,
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    note=data["note"],
                )
            except ServiceError as exc:
                if exc.status_code == 403:
                    raise PermissionDenied(str(exc.message)) from None
                exc.field_errors = {k.removesuffix("_id"): v for k, v in exc.field_errors.items()}
                apply_service_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, _("The delegation was saved."))
                return redirect("approvals:delegations")
        else:
            status = 400
    context = {"delegations": list(delegations_for(user)[:200]), "form": form, "section": "approvals"}
    return render(request, "approvals/delegations.html", context, status=status)


@require_POST
def delegation_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    found = delegations_for(user).filter(pk=pk).first()
    if found is None:
        raise Http404("no such delegation")
    try:
        delegation_delete(actor=user, delegation=found)
    except ServiceError as exc:
        raise PermissionDenied(str(exc.message)) from None
    messages.success(request, _("The delegation was deleted."))
    return redirect("approvals:delegations")
