"""Scoring and data-quality pages: the lead score panel, the data-quality card of a lead,
account or contact with its Verify button, the data-quality page for managers and the
score-rule settings for administrators. Thin callers of ``scoring.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from salesflow.core.errors import Forbidden, ServiceError
from salesflow.core.web import apply_service_error, page_number, paginate
from salesflow.leads.permissions import can_write_lead, get_lead_for_user
from salesflow.parties.permissions import (
    can_write_account,
    can_write_contact,
    get_account_for_user,
    get_contact_for_user,
)
from salesflow.scoring.forms import RuleForm
from salesflow.scoring.learning import current_model, learned_probability
from salesflow.scoring.models import ScoreRule
from salesflow.scoring.permissions import can_manage_rules, can_see_quality_page
from salesflow.scoring.quality import incomplete_below, quality_of, stale_after_days
from salesflow.scoring.selectors import (
    QUALITY_FLAGS,
    QUALITY_KINDS,
    latest_run,
    lead_score,
    quality_records,
    quality_summary,
    rules_in_order,
)
from salesflow.scoring.services import record_verify, rule_create, rule_delete, rule_update
from salesflow.users.models import User

DETAIL_URLS = {"lead": "leads:detail", "account": "accounts:detail", "contact": "contacts:detail"}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _record(user: User, kind: str, pk: int, *, write: bool = False) -> Any:
    if kind == "lead":
        return get_lead_for_user(user, pk, write=write)
    if kind == "account":
        return get_account_for_user(user, pk, write=write)
    if kind == "contact":
        return get_contact_for_user(user, pk, write=write)
    raise Http404("unknown kind")


def _can_write(user: User, kind: str, record: Any) -> bool:
    if kind == "lead":
        return can_write_lead(user, record)
    if kind == "account":
        return can_write_account(user, record)
    return can_write_contact(user, record)


@require_GET
def lead_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead's rule score with every rule's contribution, and the learned probability
    beside it when a model beats the base rate."""
    lead = get_lead_for_user(_user(request), pk)
    row = lead_score(lead)
    learned = learned_probability(lead)
    categories: dict[str, list[dict[str, Any]]] = {}
    for item in row.contributions if row is not None else []:
        categories.setdefault(str(item.get("category", "")), []).append(item)
    context = {
        "lead": lead,
        "score": row,
        "groups": [(key, categories[key]) for key in ("fit", "engagement", "bant") if key in categories],
        "learned": learned,
    }
    return render(request, "scoring/partials/lead_panel.html", context)


@require_GET
def quality_card_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    user = _user(request)
    record = _record(user, kind, pk)
    context = {
        "kind": kind,
        "record": record,
        "quality": quality_of(kind, record, now=timezone.now()),
        "can_verify": _can_write(user, kind, record),
        "stale_days": stale_after_days(),
    }
    return render(request, "scoring/partials/quality_card.html", context)


@require_POST
def verify_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    user = _user(request)
    record = _record(user, kind, pk, write=True)
    record_verify(actor=user, kind=kind, record=record)
    messages.success(request, _("The data was verified."))
    url = reverse(DETAIL_URLS[kind], args=[record.pk])
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_GET
def quality_page_view(request: HttpRequest) -> HttpResponse:
    """Stale and incomplete records per owner, over the records the manager can see."""
    user = _user(request)
    if not can_see_quality_page(user):
        raise PermissionDenied(_("The data-quality page is for managers and administrators."))
    context = {
        "rows": quality_summary(user, now=timezone.now()),
        "kinds": QUALITY_KINDS,
        "stale_days": stale_after_days(),
        "incomplete_below": incomplete_below(),
    }
    return render(request, "scoring/quality.html", context)


@require_GET
def quality_list_view(request: HttpRequest, kind: str) -> HttpResponse:
    user = _user(request)
    if not can_see_quality_page(user):
        raise PermissionDenied(_("The data-quality page is for managers and administrators."))
    if kind not in QUALITY_KINDS:
        raise Http404("unknown kind")
    owner = request.GET.get("owner", "")[:20]
    flag = request.GET.get("flag", "")
    if flag and flag not in QUALITY_FLAGS:
        flag = "none"
    now = timezone.now()
    page = paginate(quality_records(user, kind, owner=owner, flag=flag, now=now), page_number(request))
    items = [(record, quality_of(kind, record, now=now)) for record in page.object_list]
    context = {
        "kind": kind,
        "page": page,
        "items": items,
        "owner": owner,
        "flag": flag,
        "detail_url": DETAIL_URLS[kind],
    }
    return render(request, "scoring/quality_list.html", context)


# --- settings (administrators) ----------------------------------------------------------------


def _require_admin(request: HttpRequest) -> User:
    user = _user(request)
    if not can_manage_rules(user):
        raise PermissionDenied(_("Only administrators may change score rules."))
    return user


@require_http_methods(["GET", "POST"])
def settings_view(request: HttpRequest) -> HttpResponse:
    user = _require_admin(request)
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rule_create(actor=user, **form.cleaned_data)
        except Forbidden:
            raise
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The score rule was added. Every lead is being rescored."))
            return redirect("scoring:settings")
    context = {"rules": rules_in_order(), "form": form, "run": latest_run(), "model": current_model()}
    status = 400 if request.method == "POST" else 200
    return render(request, "scoring/settings.html", context, status=status)


@require_http_methods(["GET", "POST"])
def rule_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require_admin(request)
    rule = ScoreRule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404("rule not found")
    if request.method == "POST" and request.POST.get("delete"):
        rule_delete(actor=user, rule=rule)
        messages.success(request, _("The score rule was deleted. Every lead is being rescored."))
        return redirect("scoring:settings")
    form = RuleForm.for_rule(rule, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rule_update(actor=user, rule=rule, **form.cleaned_data)
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The score rule was saved. Every lead is being rescored."))
            return redirect("scoring:settings")
    status = 400 if request.method == "POST" else 200
    return render(request, "scoring/rule_form.html", {"rule": rule, "form": form}, status=status)


@require_GET
def run_progress_view(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    return render(request, "scoring/partials/run_progress.html", {"run": latest_run()})
