"""Lead pages: list, detail (BANT, disqualify, timeline), create/edit, delete, convert.

Views parse input, resolve ids through the access functions, call a service and render;
a ``Forbidden`` from an access function or service becomes HTTP 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from salesflow.core.audit import timeline_for
from salesflow.core.bulk import BULK_MAX, run_bulk_form
from salesflow.core.duplicates import POSSIBLE_DUPLICATES, duplicate_options, show_service_error
from salesflow.core.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from salesflow.core.web import apply_service_error, page_number, paginate, render_list
from salesflow.leads.choices import LeadStage, LeadStatus
from salesflow.leads.exports import lead_rows
from salesflow.leads.forms import ConvertForm, DisqualifyForm, HandOffForm, LeadBulkForm, LeadForm, QualifyForm
from salesflow.leads.models import Lead
from salesflow.leads.permissions import can_manage_lead, can_write_lead, get_lead_for_user, leads_visible_to
from salesflow.leads.selectors import (
    DEFAULT_LEAD_SORT,
    LEAD_SORTS,
    OWNER_ME,
    OWNER_NONE,
    account_suggestions,
    lead_detail_links,
    lead_list,
    lead_list_filters,
    lead_order,
    lead_owner_choices,
    leads_for_account,
    matching_account_for,
)
from salesflow.leads.services import (
    LeadChanges,
    lead_convert,
    lead_create,
    lead_delete,
    lead_disqualify,
    lead_hand_off,
    lead_mark_contacted,
    lead_qualify,
    lead_reopen,
    lead_update,
)
from salesflow.parties.choices import SourceChannel
from salesflow.parties.permissions import get_account_for_user
from salesflow.tags.selectors import parse_tag_id, tag_choices, tag_step
from salesflow.tags.services import tag_bulk_action
from salesflow.users.models import User
from salesflow.users.permissions import can_see_unowned, writable_owner_ids


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _lead(request: HttpRequest, pk: int, *, write: bool = False) -> Lead:
    return get_lead_for_user(_user(request), pk, write=write)


def can_create_leads(user: User) -> bool:
    return writable_owner_ids(user) != set()


def _done(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect after a successful POST (a client-side redirect for htmx requests)."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _detail_url(lead: Lead) -> str:
    return reverse("leads:detail", args=[lead.pk])


def _sort_headers(request: HttpRequest, sort_key: str) -> dict[str, dict[str, Any]]:
    """For each sortable column: the link that sorts by it (toggling direction) and its state."""
    headers = {}
    for key in LEAD_SORTS:
        active = sort_key.lstrip("-") == key
        desc = active and sort_key.startswith("-")
        params = request.GET.copy()
        params.pop("page", None)
        params["sort"] = key if (active and desc) or not active else f"-{key}"
        if not active and key == "created":
            params["sort"] = "-created"
        headers[key] = {"url": f"?{params.urlencode()}", "active": active, "desc": desc}
    return headers


@require_GET
def lead_list_view(request: HttpRequest) -> HttpResponse:
    """Search, status tabs, channel and owner filters, sortable columns, paging without COUNT."""
    user = _user(request)
    sort_key, _order = lead_order(request.GET.get("sort"))
    filters = {
        "q": request.GET.get("q", "").strip(),
        "status": request.GET.get("status", ""),
        "source_channel": request.GET.get("channel", ""),
        "owner": request.GET.get("owner", ""),
        "stage": request.GET.get("stage", ""),
    }
    extra = {f.param: request.GET.get(f.param, "")[:40] for f in lead_list_filters()}
    tag = parse_tag_id(request.GET.get("tag"))  # salesflow.tags
    page = paginate(tag_step(lead_list(user, sort=sort_key, extra=extra, **filters), tag), page_number(request))
    context = {
        "page": page,
        "leads": page.object_list,
        "filters": filters,
        "sort": sort_key,
        "sort_headers": _sort_headers(request, sort_key),
        "default_sort": DEFAULT_LEAD_SORT,
        "status_tabs": [
            ("", _("All")),
            ("open", pgettext_lazy("lead status filter", "Open")),
            *[(value, label) for value, label in LeadStatus.choices],
        ],
        "channels": SourceChannel.choices,
        "stages": LeadStage.choices,
        "extra_filters": [(f, f.choices(), extra.get(f.param, "")) for f in lead_list_filters()],
        "owner_choices": lead_owner_choices(user),
        "owner_me": OWNER_ME,
        "owner_none": OWNER_NONE,
        "show_unassigned": can_see_unowned(user),
        "can_create": can_create_leads(user),
        "tag_choices": tag_choices(),
        "tag_filter": tag,
        **_bulk_context(user),
    }
    return render_list(request, page="leads/list.html", fragment="leads/partials/lead_table.html", context=context)


def _detail_context(
    request: HttpRequest,
    lead: Lead,
    *,
    qualify_form: QualifyForm | None = None,
    disqualify_form: DisqualifyForm | None = None,
) -> dict[str, Any]:
    user = _user(request)
    lead_detail_links(lead, user)
    can_write = can_write_lead(user, lead)
    open_for_work = lead.status in (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
    return {
        "lead": lead,
        "can_write": can_write,
        "can_edit": can_write and lead.status != LeadStatus.CONVERTED,
        "can_delete": can_write and lead.status != LeadStatus.CONVERTED and can_manage_lead(user, lead),
        "can_qualify": can_write and lead.status in (LeadStatus.NEW, LeadStatus.CONTACTED),
        "can_disqualify": can_write and open_for_work,
        "can_reopen": can_write and lead.status == LeadStatus.DISQUALIFIED,
        "can_convert": can_write and lead.status == LeadStatus.QUALIFIED,
        "can_hand_off": can_write and open_for_work and lead.stage == LeadStage.MQL,
        "hand_off_form": HandOffForm(prefix="handoff"),
        "qualify_form": qualify_form or QualifyForm.for_lead(lead),
        "disqualify_form": disqualify_form or DisqualifyForm(prefix="dq"),
        "events": timeline_for(lead, user=user),
    }


@require_GET
def lead_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead(request, pk)
    return render(request, "leads/detail.html", _detail_context(request, lead))


@require_http_methods(["GET", "POST"])
def lead_create_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not can_create_leads(user):
        raise PermissionDenied(_("You may not create leads."))
    form = LeadForm(request.POST or None, user=user)
    panel: dict[str, Any] = {}  # issue 8: the possible-duplicates panel
    if request.method == "POST" and form.is_valid():
        try:
            lead = lead_create(actor=user, intake_options=duplicate_options(request), **form.service_values())
        except Forbidden:
            raise  # the 403 page, not a form error
        except ServiceError as exc:
            panel = show_service_error(request, form, exc)
        else:
            # issue 8: an intake check may route the lead to someone else (a known customer's owner)
            if not leads_visible_to(user).filter(pk=lead.pk).exists():
                messages.info(
                    request,
                    _("The lead “%(name)s” was created and routed to %(owner)s, who owns this customer.")
                    % {"name": lead.name, "owner": lead.owner},
                )
                return redirect("leads:list")
            messages.success(request, _("The lead “%(name)s” was created.") % {"name": lead.name})
            return redirect(_detail_url(lead))
    status = 400 if request.method == "POST" else 200  # a POST that did not redirect failed
    return render(request, "leads/form.html", {"form": form, "lead": None, **panel}, status=status)


@require_http_methods(["GET", "POST"])
def lead_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    lead = _lead(request, pk, write=True)
    if lead.status == LeadStatus.CONVERTED:
        messages.error(request, _("A converted lead can no longer be changed."))
        return redirect(_detail_url(lead))
    form = LeadForm(request.POST or None, user=user, lead=lead)
    panel: dict[str, Any] = {}  # issue 8: the possible-duplicates panel
    if request.method == "POST" and form.is_valid():
        changes = cast(LeadChanges, form.service_values())
        try:
            lead_update(actor=user, lead=lead, intake_options=duplicate_options(request), **changes)
        except Conflict as exc:
            if exc.code != POSSIBLE_DUPLICATES:
                messages.error(request, str(exc.message))
                return redirect(_detail_url(lead))
            panel = show_service_error(request, form, exc)
        except ServiceError as exc:
            panel = show_service_error(request, form, exc)
        else:
            messages.success(request, _("The lead was saved."))
            return redirect(_detail_url(lead))
    status = 400 if request.method == "POST" else 200
    return render(request, "leads/form.html", {"form": form, "lead": lead, **panel}, status=status)


@require_http_methods(["GET", "POST"])
def lead_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead(request, pk, write=True)
    if not can_manage_lead(_user(request), lead):  # a read-write share never deletes
        raise Forbidden(_("You may not change this lead."))
    if request.method == "POST":
        try:
            lead_delete(actor=_user(request), lead=lead)
        except Conflict as exc:
            messages.error(request, str(exc.message))
            return redirect(_detail_url(lead))
        messages.success(request, _("The lead “%(name)s” was deleted.") % {"name": lead.name})
        return _done(request, reverse("leads:list"))
    return render(request, "leads/confirm_delete.html", {"lead": lead})


@require_POST
def lead_qualify_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the BANT answers and qualify; the htmx form gets the BANT card back with errors."""
    lead = _lead(request, pk, write=True)
    form = QualifyForm(request.POST, prefix="bant")
    if form.is_valid():
        try:
            lead_qualify(actor=_user(request), lead=lead, **form.cleaned_data)
        except Conflict as exc:
            messages.error(request, str(exc.message))
            return _done(request, _detail_url(lead))
        except ValidationFailed as exc:
            if exc.field_errors:
                form.add_error(None, str(exc.message))  # names every missing BANT element at the top
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The lead is qualified. You can now convert it."))
            return _done(request, _detail_url(lead))
    context = _detail_context(request, lead, qualify_form=form)
    if getattr(request, "htmx", False):
        # htmx swaps 4xx responses only when configured to; keep 200 for the fragment.
        return render(request, "leads/partials/bant_card.html", context)
    return render(request, "leads/detail.html", context, status=400)


@require_http_methods(["GET", "POST"])
def lead_disqualify_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead(request, pk, write=True)
    form = DisqualifyForm(request.POST or None, prefix="dq")
    if request.method == "POST" and form.is_valid():
        try:
            lead_disqualify(
                actor=_user(request), lead=lead, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"]
            )
        except Conflict as exc:
            messages.error(request, str(exc.message))
            return _done(request, _detail_url(lead))
        except ValidationFailed as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The lead was disqualified."))
            return _done(request, _detail_url(lead))
    return render(request, "leads/disqualify.html", {"lead": lead, "form": form})


@require_POST
def lead_reopen_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead(request, pk, write=True)
    try:
        lead_reopen(actor=_user(request), lead=lead)
    except Conflict as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The lead was reopened."))
    return _done(request, _detail_url(lead))


@require_POST
def lead_hand_off_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand an MQL to sales (``lead_hand_off``); errors come back as messages on the lead page."""
    lead = _lead(request, pk, write=True)
    form = HandOffForm(request.POST, prefix="handoff")
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return _done(request, _detail_url(lead))
    try:
        lead_hand_off(actor=_user(request), lead=lead, note=form.cleaned_data["note"])
    except (Conflict, ValidationFailed) as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The lead was handed off to sales."))
    return _done(request, _detail_url(lead))


@require_http_methods(["GET", "POST"])
def lead_convert_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Convert a qualified lead; on success go to the new opportunity (or the account)."""
    user = _user(request)
    lead = _lead(request, pk, write=True)
    if lead.status != LeadStatus.QUALIFIED:
        if lead.status == LeadStatus.CONVERTED:
            messages.info(request, _("This lead has already been converted."))
        else:
            messages.error(request, _("Only qualified leads can be converted. Complete the BANT and qualify it first."))
        return redirect(_detail_url(lead))
    suggestions = account_suggestions(user, lead)
    form = ConvertForm(request.POST or None, user=user, lead=lead, suggestions=suggestions)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = lead_convert(
                actor=user,
                lead=lead,
                account=form.resolved_account,
                create_contact=data["create_contact"],
                contact_role=data["contact_role"],
                create_opportunity=data["create_opportunity"],
                opportunity_name=data["opportunity_name"],
                amount=data["amount"],
                expected_close_date=data["expected_close_date"],
                stage=data["stage"],
                pipeline=data["pipeline"],
            )
        except Conflict as exc:
            messages.error(request, str(exc.message))
            return redirect(_detail_url(lead))
        except ValidationFailed as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The lead was converted."))
            if result.opportunity is not None:
                return redirect(reverse("opportunities:detail", args=[result.opportunity.pk]))
            return redirect(reverse("accounts:detail", args=[result.account.pk]))
    match, match_usable = matching_account_for(user, lead)
    context = {
        "lead": lead,
        "form": form,
        "match": match if match_usable else None,
        "match_hidden": match is not None and not match_usable,
    }
    return render(request, "leads/convert.html", context, status=400 if request.method == "POST" else 200)


@require_GET
def lead_convert_accounts_view(request: HttpRequest, pk: int) -> JsonResponse:
    """Options for the convert page's account search: writable accounts matching ``q``."""
    user = _user(request)
    lead = _lead(request, pk, write=True)
    found = account_suggestions(user, lead, q=request.GET.get("q", ""))
    return JsonResponse({"results": [{"value": a.pk, "text": a.name} for a in found]})


# --- the account page's leads panel (htmx) -----------------------------------------------------

ACCOUNT_PANEL_LIMIT = 20


@require_GET
def account_leads_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """``GET /leads/for-account/<pk>/panel/``: the leads of the account the reader may see
    (converted into it, or naming the same company), at most ``ACCOUNT_PANEL_LIMIT``. 404 when
    the account is not visible. Three queries whatever the number of leads."""
    user = _user(request)
    account = get_account_for_user(user, pk)
    rows = list(leads_for_account(user, account)[: ACCOUNT_PANEL_LIMIT + 1])
    return render(
        request,
        "leads/partials/account_panel.html",
        {"account": account, "leads": rows[:ACCOUNT_PANEL_LIMIT], "has_more": len(rows) > ACCOUNT_PANEL_LIMIT},
    )


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


def _bulk_context(user: User) -> dict[str, Any]:
    return {
        "bulk_form": LeadBulkForm(user=user),
        "bulk_url": reverse("leads:bulk"),
        "bulk_refresh": "#lead-results",
        "bulk_swap": "outerHTML",
        "bulk_max": f"{BULK_MAX:,}",
    }


def leads_matching(user: User, params: QueryDict) -> QuerySet[Lead]:
    """The rows of the lead list for these query parameters: the same function the export
    uses (``leads.exports.lead_rows``: the list's filters, tag and sort)."""
    return lead_rows(user, params)


def _lead_action(user: User, form: LeadBulkForm) -> Callable[[Lead], object]:
    action = form.cleaned_data["action"]
    tagging = tag_bulk_action(actor=user, action=action, tag_id=form.cleaned_data.get("tag"))
    if tagging is not None:
        return tagging
    if action == "assign":
        owner = form.require("owner")
        return lambda lead: lead_update(actor=user, lead=lead, owner=owner)
    if action == "contacted":
        return lambda lead: lead_mark_contacted(actor=user, lead=lead)
    if action == "disqualify":
        reason = form.require("reason")
        return lambda lead: lead_disqualify(actor=user, lead=lead, reason=reason)
    if action == "reopen":
        return lambda lead: lead_reopen(actor=user, lead=lead)
    return lambda lead: lead_delete(actor=user, lead=lead)


@require_POST
def lead_bulk_view(request: HttpRequest) -> HttpResponse:
    """Apply one action to the ticked leads or to every lead matching the list's filters."""
    user = _user(request)
    return run_bulk_form(
        request,
        LeadBulkForm(request.POST, user=user),
        visible=leads_visible_to(user),
        matching=lambda params: leads_matching(user, params),
        action=lambda form: _lead_action(user, form),
        fallback=reverse("leads:list"),
    )
