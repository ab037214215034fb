"""Activity pages, the record panel (htmx partial) and My day.

Thin views: parse (forms) → access functions → services → render. Every id from the
request (the activity, linked records, the owner) is resolved for the current user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from salesflow.activities.choices import ActivityKind
from salesflow.activities.forms import ActivityFilterForm, ActivityForm, CompleteForm, QuickLogForm
from salesflow.activities.models import Activity
from salesflow.activities.permissions import can_write_activity, get_activity_for_user
from salesflow.activities.selectors import activities_for_record, activity_list, my_day, normalize_sort
from salesflow.activities.services import activity_complete, activity_create, activity_delete, activity_update
from salesflow.core.audit import timeline_for
from salesflow.core.errors import ServiceError
from salesflow.core.web import apply_service_error, page_number, paginate, render_list
from salesflow.leads.models import Lead
from salesflow.leads.permissions import get_lead_for_user
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import get_account_for_user, get_contact_for_user
from salesflow.sales.models import Opportunity
from salesflow.sales.permissions import get_opportunity_for_user
from salesflow.users.models import User

PANEL_LIMIT = 10
LINK_NAMES = ("lead", "account", "contact", "opportunity")
LINK_LABELS = {
    "lead": gettext_lazy("Lead"),
    "account": gettext_lazy("Account"),
    "contact": gettext_lazy("Contact"),
    "opportunity": gettext_lazy("Opportunity"),
}


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@dataclass
class Links:
    """The records an activity form is about, each resolved through its access function."""

    lead: Lead | None = None
    account: Account | None = None
    contact: Contact | None = None
    opportunity: Opportunity | None = None

    @classmethod
    def from_query(cls, user: User, data: QueryDict) -> Links:
        """Read ``lead``/``account``/``contact``/``opportunity`` ids; unseen ids raise ``Http404``."""
        links = cls()
        if value := data.get("lead", "").strip():
            links.lead = get_lead_for_user(user, value)
        if value := data.get("account", "").strip():
            links.account = get_account_for_user(user, value)
        if value := data.get("contact", "").strip():
            links.contact = get_contact_for_user(user, value)
        if value := data.get("opportunity", "").strip():
            links.opportunity = get_opportunity_for_user(user, value)
        return links

    def as_kwargs(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in LINK_NAMES}

    def items(self) -> list[tuple[str, Model]]:
        return [(name, obj) for name in LINK_NAMES if (obj := getattr(self, name)) is not None]

    def query(self) -> str:
        return urlencode([(name, obj.pk) for name, obj in self.items()])

    def display(self) -> list[dict[str, Any]]:
        """Label, name and page of each linked record, for the form header."""
        return [
            {"name": name, "label": LINK_LABELS[name], "record": obj, "url": _record_url(name, obj.pk)}
            for name, obj in self.items()
        ]


def _record_url(name: str, pk: int) -> str:
    namespace = {"lead": "leads", "account": "accounts", "contact": "contacts", "opportunity": "opportunities"}[name]
    return reverse(f"{namespace}:detail", args=[pk])


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


def _writable_activity(request: HttpRequest, pk: int) -> Activity:
    return get_activity_for_user(_user(request), pk, write=True)


def _writable_ids(user: User, activities: list[Activity]) -> set[int]:
    return {a.pk for a in activities if can_write_activity(user, a)}


# --- list, detail -------------------------------------------------------------------------


@require_GET
def activity_list_view(request: HttpRequest) -> HttpResponse:
    """Visible activities: search, type/status/owner/due filters, sort, pagination, optional record filter."""
    user = _user(request)
    links = Links.from_query(user, request.GET)
    form = ActivityFilterForm(request.GET or None, user=user)
    sort = normalize_sort(request.GET.get("sort", ""))
    qs = activity_list(user, **form.filters(), sort=sort, **{name: obj.pk for name, obj in links.items()})
    page = paginate(qs, page_number(request))
    # One template for the page and for htmx requests alike (htmx selects what it swaps).
    return render_list(
        request,
        page="activities/list.html",
        fragment="activities/list.html",
        context={
            "form": form,
            "page": page,
            "sort": sort,
            "links": links.display(),
            "link_query": links.query(),
            "writable_ids": _writable_ids(user, page.object_list),
        },
    )


@require_GET
def activity_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    activity = get_activity_for_user(user, pk)
    return render(
        request,
        "activities/detail.html",
        {
            "activity": activity,
            "can_write": can_write_activity(user, activity),
            "complete_form": CompleteForm(initial={"outcome": activity.outcome}, auto_id="complete_%s"),
            "events": timeline_for(activity, user=user),
        },
    )


# --- create, edit, delete, complete ---------------------------------------------------------


@require_http_methods(["GET", "POST"])
def activity_create_view(request: HtmxHttpRequest) -> HttpResponseBase:
    """Full create form, pre-filled with ``?lead=``/``?account=``/``?contact=``/``?opportunity=``.

    The record panel's quick-log form posts here too (with ``panel=<record type>``); an
    htmx post then gets the re-rendered panel back, with errors or a fresh form.
    """
    user = _user(request)
    data = request.POST if request.method == "POST" else request.GET
    links = Links.from_query(user, data)
    panel = data.get("panel", "")
    panel_record = getattr(links, panel, None) if panel in LINK_NAMES else None
    form: QuickLogForm
    if request.method == "POST":
        form = (
            QuickLogForm(request.POST, auto_id="ql_%s")
            if panel_record is not None
            else ActivityForm(request.POST, user=user)
        )
        if form.is_valid():
            try:
                activity = activity_create(actor=user, **form.service_kwargs(), **links.as_kwargs())
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                if panel_record is not None and request.htmx:
                    response = _render_panel(request, user, panel, panel_record)
                    response["HX-Trigger"] = "activity-logged"
                    return response
                messages.success(request, _("The activity was saved."))
                return redirect(_safe_next(request, reverse("activities:detail", args=[activity.pk])))
        if panel_record is not None and request.htmx:
            return _render_panel(request, user, panel, panel_record, form=form)
    else:
        initial: dict[str, Any] = {}
        kind = data.get("kind", "")
        if kind in ActivityKind.values:
            initial["kind"] = kind
            initial["done"] = kind != ActivityKind.TASK
        form = ActivityForm(initial=initial, user=user)
    return render(
        request,
        "activities/form.html",
        {
            "form": form,
            "links": links.display(),
            "link_items": links.items(),
            "next": _safe_next(request, ""),
            "cancel_url": _safe_next(request, reverse("activities:list")),
        },
    )


@require_http_methods(["GET", "POST"])
def activity_edit_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _user(request)
    activity = _writable_activity(request, pk)
    if request.method == "POST":
        form = ActivityForm(request.POST, user=user, current_owner=activity.owner)
        if form.is_valid():
            try:
                activity_update(actor=user, activity=activity, **form.service_kwargs())
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("The activity was saved."))
                return redirect(_safe_next(request, reverse("activities:detail", args=[activity.pk])))
    else:
        form = ActivityForm(initial=ActivityForm.initial_for(activity), user=user, current_owner=activity.owner)
    links = Links(
        lead=activity.lead, account=activity.account, contact=activity.contact, opportunity=activity.opportunity
    )
    return render(
        request,
        "activities/form.html",
        {
            "form": form,
            "activity": activity,
            "links": links.display(),
            "link_items": [],
            "next": _safe_next(request, ""),
            "cancel_url": reverse("activities:detail", args=[activity.pk]),
        },
    )


@require_http_methods(["GET", "POST"])
def activity_delete_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _user(request)
    activity = _writable_activity(request, pk)
    if request.method == "POST":
        subject = activity.subject
        activity_delete(actor=user, activity=activity)
        messages.success(request, _("The activity “%(subject)s” was deleted.") % {"subject": subject})
        return redirect(_safe_next(request, reverse("activities:list")))
    return render(request, "activities/confirm_delete.html", {"activity": activity})


COMPLETE_PARTIALS = {
    "row": "activities/partials/row.html",
    "myday": "activities/partials/my_day_item.html",
    "panel": "activities/partials/panel_item.html",
}


@require_POST
def activity_complete_view(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    """Mark done (POST). htmx callers name the fragment they show (``variant``) and get it back updated."""
    user = _user(request)
    activity = _writable_activity(request, pk)
    form = CompleteForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            return HttpResponse(status=400)
        messages.error(request, _("Enter a valid date for the next follow-up."))
        return redirect(reverse("activities:detail", args=[activity.pk]))
    activity_complete(
        actor=user,
        activity=activity,
        outcome=form.cleaned_data.get("outcome") or "",
        next_follow_up=form.cleaned_data.get("next_follow_up"),
    )
    if request.htmx:
        template = COMPLETE_PARTIALS.get(request.POST.get("variant", ""), COMPLETE_PARTIALS["row"])
        response = render(request, template, {"activity": activity, "writable_ids": {activity.pk}})
        response["HX-Trigger"] = "activity-completed"
        return response
    messages.success(request, _("The activity was marked as done."))
    return redirect(_safe_next(request, reverse("activities:detail", args=[activity.pk])))


# --- record panel -------------------------------------------------------------------------


def _render_panel(
    request: HttpRequest, user: User, name: str, record: Model, *, form: QuickLogForm | None = None
) -> HttpResponse:
    record_kwargs: dict[str, Any] = {name: record}
    rows = list(activities_for_record(user, **record_kwargs)[: PANEL_LIMIT + 1])
    activities = rows[:PANEL_LIMIT]
    query = urlencode({name: record.pk})
    return render(
        request,
        "activities/partials/panel.html",
        {
            "record": record,
            "record_name": name,
            "record_query": query,
            "activities": activities,
            "has_more": len(rows) > PANEL_LIMIT,
            "writable_ids": _writable_ids(user, activities),
            "form": form or QuickLogForm(auto_id="ql_%s"),
        },
    )


@require_GET
def activity_panel_view(request: HttpRequest) -> HttpResponse:
    """``?account=ID`` (or lead/contact/opportunity): the record's activities and a quick-log form.

    404 when the record is not visible or no record is named.
    """
    user = _user(request)
    links = Links.from_query(user, request.GET)
    items = links.items()
    if len(items) != 1:
        raise Http404("name exactly one record")
    ((name, record),) = items
    return _render_panel(request, user, name, record)


# --- My day -------------------------------------------------------------------------------


@require_GET
def my_day_view(request: HttpRequest) -> HttpResponse:
    """The home page: overdue, due today, follow-ups due and deals without a next step."""
    user = _user(request)
    day = my_day(user, timezone.localdate())
    own = [*day.overdue.items, *day.due_today.items, *day.follow_ups.items]
    return render(
        request,
        "activities/my_day.html",
        {"day": day, "yesterday": day.today - timedelta(days=1), "writable_ids": _writable_ids(user, own)},
    )
