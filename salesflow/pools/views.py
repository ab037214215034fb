"""Pages of the public pools (公海): the pools, a pool's records with a Claim button, the
release form on lead and account pages, and the administrators' settings. Thin callers of
``pools.services`` and ``pools.selectors``."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesflow.core.errors import ServiceError
from salesflow.core.keyset import keyset_page
from salesflow.leads.permissions import get_lead_for_user
from salesflow.parties.choices import Grade, Industry
from salesflow.parties.permissions import get_account_for_user
from salesflow.pools.choices import RecordKind
from salesflow.pools.forms import CapForm, PoolForm, RecycleRuleForm, ReleaseForm
from salesflow.pools.models import CapRule, Pool, RecycleRule
from salesflow.pools.selectors import PAGE_SIZE, cap_rules, get_pool_for_user, holdings, pool_entries, pools_visible_to
from salesflow.pools.services import (
    cap_delete,
    cap_save,
    pool_claim,
    pool_delete,
    pool_release,
    pool_save,
    recycle_rule_delete,
    recycle_rule_save,
    release_pools,
)
from salesflow.users.models import User

_DETAIL = {RecordKind.LEAD: "leads:detail", RecordKind.ACCOUNT: "accounts:detail"}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _kind(value: object) -> str:
    if value not in RecordKind.values:
        raise Http404("unknown record type")
    return str(value)


@require_GET
def pool_list_view(request: HttpRequest) -> HttpResponse:
    """The pools the user belongs to, with how many leads and accounts wait in each."""
    user = _user(request)
    context = {"pools": list(pools_visible_to(user)), "holdings": holdings(user), "section": "pools"}
    return render(request, "pools/list.html", context)


@require_GET
def pool_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A pool's records of one kind (keyset pages, filters, search), a Claim button per row,
    and the user's holdings against their caps."""
    user = _user(request)
    pool = get_pool_for_user(user, pk)
    default = RecordKind.ACCOUNT if pool.holds_accounts and not pool.holds_leads else RecordKind.LEAD
    kind = request.GET.get("kind") or default
    if kind not in RecordKind.values or not pool.holds(kind):
        kind = default
    grade = request.GET.get("grade", "")[:1]
    industry = request.GET.get("industry", "")[:30]
    q = request.GET.get("q", "")[:200]
    try:
        rows, next_cursor = keyset_page(
            pool_entries(pool, kind, grade=grade, industry=industry, q=q),
            cursor=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    except ServiceError:
        rows, next_cursor = [], None
    context: dict[str, Any] = {
        "pool": pool,
        "kind": kind,
        "rows": [(getattr(e, kind), e) for e in rows],
        "next_cursor": next_cursor,
        "grade": grade,
        "industry": industry,
        "q": q,
        "grades": Grade.choices,
        "industries": Industry.choices,
        "holdings": holdings(user),
        "section": "pools",
    }
    return render(request, "pools/detail.html", context)


@require_POST
def claim_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Claim one record; a refusal (cap reached, taken meanwhile) shows its message."""
    user = _user(request)
    kind = _kind(kind)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    try:
        record = pool_claim(actor=user, kind=kind, record_id=pk)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect(back or reverse("pools:list"))
    messages.success(request, _("You claimed “%(name)s”.") % {"name": record})
    return redirect(_DETAIL[RecordKind(kind)], pk=record.pk)


@require_POST
def release_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Release a lead or account to a pool with a reason (the owner or their manager)."""
    user = _user(request)
    kind = _kind(kind)
    record = get_lead_for_user(user, pk) if kind == RecordKind.LEAD else get_account_for_user(user, pk)
    form = ReleaseForm(request.POST, pools=release_pools(user, record.owner, kind))
    if not form.is_valid():
        errors = [str(m) for msgs in form.errors.values() for m in msgs]
        messages.error(request, " ".join(errors))
        return redirect(_DETAIL[RecordKind(kind)], pk=record.pk)
    pool = form.cleaned_data["pool"]
    try:
        pool_release(
            actor=user,
            kind=kind,
            record_id=record.pk,
            reason=form.cleaned_data["reason"],
            pool_id=pool.pk if pool else None,
        )
    except ServiceError as exc:
        messages.error(request, " ".join([str(exc.message), *(m for ms in exc.field_errors.values() for m in ms)]))
        return redirect(_DETAIL[RecordKind(kind)], pk=record.pk)
    messages.success(request, _("“%(name)s” was released to the public pool.") % {"name": record})
    if kind == RecordKind.LEAD:
        return redirect("leads:list")
    return redirect("accounts:list")


# --- settings (administrators) ------------------------------------------------------------------


def _require_admin(request: HttpRequest) -> User:
    user = _user(request)
    if not user.is_admin:
        raise PermissionDenied(_("Only administrators configure the public pools."))
    return user


def _apply(form: Any, exc: ServiceError) -> None:
    from salesflow.core.web import apply_service_error

    aliases = {
        "team_ids": "teams",
        "user_id": "user",
        "target_pool_id": "target_pool",
        "product_line_id": "product_line",
    }
    exc.field_errors = {aliases.get(k, k): v for k, v in exc.field_errors.items()}
    apply_service_error(form, exc)


@require_http_methods(["GET", "POST"])
def settings_view(request: HttpRequest) -> HttpResponse:
    """Pools, ownership caps and recycle rules, each with a create form."""
    user = _require_admin(request)
    which = request.POST.get("form", "")
    pool_form = PoolForm(request.POST if which == "pool" else None, prefix="pool")
    cap_form = CapForm(request.POST if which == "cap" else None, prefix="cap")
    rule_form = RecycleRuleForm(request.POST if which == "rule" else None, prefix="rule")
    if request.method == "POST":
        try:
            if which == "pool" and pool_form.is_valid():
                data = pool_form.cleaned_data
                pool_save(
                    actor=user,
                    name=data["name"],
                    description=data["description"],
                    active=data["active"],
                    holds_leads=data["holds_leads"],
                    holds_accounts=data["holds_accounts"],
                    protection_days=data["protection_days"],
                    position=data["position"],
                    team_ids=[t.pk for t in data["teams"]],
                )
                messages.success(request, _("The pool was saved."))
                return redirect("pools:settings")
            if which == "cap" and cap_form.is_valid():
                data = cap_form.cleaned_data
                cap_save(
                    actor=user,
                    kind=data["kind"],
                    grade=data["grade"],
                    role=data["role"],
                    user_id=data["user"].pk if data["user"] else None,
                    max_count=data["max_count"],
                )
                messages.success(request, _("The ownership cap was saved."))
                return redirect("pools:settings")
            if which == "rule" and rule_form.is_valid():
                data = rule_form.cleaned_data
                recycle_rule_save(
                    actor=user,
                    name=data["name"],
                    kind=data["kind"],
                    grade=data["grade"],
                    target_pool_id=data["target_pool"].pk,
                    no_follow_up_days=data["no_follow_up_days"],
                    no_opportunity_days=data["no_opportunity_days"],
                    warn_days_before=data["warn_days_before"],
                    active=data["active"],
                    product_line_id=data["product_line"].pk if data["product_line"] else None,
                )
                messages.success(request, _("The recycle rule was saved."))
                return redirect("pools:settings")
        except ServiceError as exc:
            _apply({"pool": pool_form, "cap": cap_form, "rule": rule_form}[which], exc)
    context = {
        "pools": list(pools_visible_to(user, include_inactive=True).prefetch_related("teams")),
        "caps": list(cap_rules()),
        "rules": list(
            RecycleRule.objects.select_related("target_pool", "product_line").order_by("kind", "grade", "id")
        ),
        "pool_form": pool_form,
        "cap_form": cap_form,
        "rule_form": rule_form,
    }
    return render(request, "pools/settings.html", context, status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
def pool_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require_admin(request)
    pool = Pool.objects.filter(pk=pk).first() if pk < 2**31 else None
    if pool is None:
        raise Http404("no such pool")
    initial = {
        "name": pool.name,
        "description": pool.description,
        "teams": list(pool.teams.all()),
        "holds_leads": pool.holds_leads,
        "holds_accounts": pool.holds_accounts,
        "protection_days": pool.protection_days,
        "position": pool.position,
        "active": pool.active,
    }
    form = PoolForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            pool_save(
                actor=user,
                pool=pool,
                name=data["name"],
                description=data["description"],
                active=data["active"],
                holds_leads=data["holds_leads"],
                holds_accounts=data["holds_accounts"],
                protection_days=data["protection_days"],
                position=data["position"],
                team_ids=[t.pk for t in data["teams"]],
            )
        except ServiceError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("The pool was saved."))
            return redirect("pools:settings")
    status = 400 if request.method == "POST" else 200
    return render(request, "pools/pool_form.html", {"pool": pool, "form": form}, status=status)


def cap_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Change one ownership cap (administrators) through ``cap_save``."""
    user = _require_admin(request)
    cap = CapRule.objects.select_related("user").filter(pk=pk).first() if pk < 2**31 else None
    if cap is None:
        raise Http404("no such cap")
    initial = {"role": cap.role, "user": cap.user, "kind": cap.kind, "grade": cap.grade, "max_count": cap.max_count}
    form = CapForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            cap_save(
                actor=user,
                cap=cap,
                kind=data["kind"],
                grade=data["grade"],
                role=data["role"],
                user_id=data["user"].pk if data["user"] else None,
                max_count=data["max_count"],
            )
        except ServiceError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("The ownership cap was saved."))
            return redirect("pools:settings")
    status = 400 if request.method == "POST" else 200
    context = {"title": _("Ownership cap"), "form": form, "testid": "cap-edit-form"}
    return render(request, "pools/settings_form.html", context, status=status)


def rule_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Change one recycle rule (administrators) through ``recycle_rule_save``."""
    user = _require_admin(request)
    rule = RecycleRule.objects.select_related("target_pool").filter(pk=pk).first() if pk < 2**31 else None
    if rule is None:
        raise Http404("no such rule")
    initial = {
        "name": rule.name,
        "kind": rule.kind,
        "grade": rule.grade,
        "no_follow_up_days": rule.no_follow_up_days,
        "no_opportunity_days": rule.no_opportunity_days,
        "target_pool": rule.target_pool,
        "warn_days_before": rule.warn_days_before,
        "active": rule.active,
        "product_line": rule.product_line_id,
    }
    form = RecycleRuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            recycle_rule_save(
                actor=user,
                rule=rule,
                name=data["name"],
                kind=data["kind"],
                grade=data["grade"],
                target_pool_id=data["target_pool"].pk,
                no_follow_up_days=data["no_follow_up_days"],
                no_opportunity_days=data["no_opportunity_days"],
                warn_days_before=data["warn_days_before"],
                active=data["active"],
                product_line_id=data["product_line"].pk if data["product_line"] else None,
            )
        except ServiceError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("The recycle rule was saved."))
            return redirect("pools:settings")
    status = 400 if request.method == "POST" else 200
    context = {"title": rule.name, "form": form, "testid": "rule-edit-form"}
    return render(request, "pools/settings_form.html", context, status=status)


@require_POST
def settings_delete_view(request: HttpRequest, what: str, pk: int) -> HttpResponse:
    user = _require_admin(request)
    models: dict[str, type[Pool] | type[CapRule] | type[RecycleRule]] = {
        "pool": Pool,
        "cap": CapRule,
        "rule": RecycleRule,
    }
    model = models.get(what)
    obj = model.objects.filter(pk=pk).first() if model is not None and pk < 2**31 else None
    if obj is None:
        raise Http404("not found")
    try:
        if isinstance(obj, Pool):
            pool_delete(actor=user, pool=obj)
        elif isinstance(obj, CapRule):
            cap_delete(actor=user, cap=obj)
        else:
            recycle_rule_delete(actor=user, rule=obj)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Deleted."))
    return redirect("pools:settings")


@require_GET
def record_panel_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The pool card of a lead or account page (loaded by htmx): where it sits in a pool
    (with a Claim button for members), or the release form for its owner and their manager."""
    from salesflow.pools.selectors import pool_of
    from salesflow.pools.services import is_member, may_release

    user = _user(request)
    kind = _kind(kind)
    record = get_lead_for_user(user, pk) if kind == RecordKind.LEAD else get_account_for_user(user, pk)
    entry = pool_of(kind, record.pk) if record.owner_id is None else None
    context: dict[str, Any] = {"kind": kind, "record": record, "entry": entry}
    if entry is not None:
        context["may_claim"] = entry.pool.active and is_member(user, entry.pool)
    elif may_release(user, record):
        choices = release_pools(user, record.owner, kind)
        context["release_form"] = ReleaseForm(pools=choices, initial={"pool": choices[0] if choices else None})
        context["no_pool"] = not choices
    return render(request, "pools/partials/record_panel.html", context)
