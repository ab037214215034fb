"""Activity pages, the record panel (htmx partial) and My day.

Thin views: parse (forms) → access functions → services → render. Every id from the
request (the activity, linked records, the owner) is resolved for the current user.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from salesflow.activities.choices import ActivityKind
from salesflow.activities.forms import (
    ActivityBulkForm,
    ActivityFilterForm,
    ActivityForm,
    CheckInForm,
    CompleteForm,
    EscalationStepForm,
    KindConfigForm,
    PolicyForm,
    QuickLogForm,
    record_label,
)
from salesflow.activities.ics import build_calendar
from salesflow.activities.models import Activity, FollowUpEscalationStep
from salesflow.activities.permissions import activities_visible_to, can_write_activity, get_activity_for_user
from salesflow.activities.selectors import (
    activities_for_record,
    activity_list,
    calendar_items,
    escalation_steps,
    kind_configs,
    kind_requirements,
    link_search,
    my_day,
    normalize_sort,
)
from salesflow.activities.services import (
    activity_check_in,
    activity_complete,
    activity_create,
    activity_delete,
    activity_kind_config_save,
    activity_update,
    escalation_step_delete,
    escalation_step_save,
)
from salesflow.core.audit import timeline_for
from salesflow.core.bulk import BULK_MAX, run_bulk_form
from salesflow.core.errors import Conflict, ServiceError, ValidationFailed
from salesflow.core.web import apply_service_error, page_number, paginate, render_list
from salesflow.leads.models import Lead
from salesflow.leads.permissions import get_lead_for_user
from salesflow.parties.choices import Grade
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import get_account_for_user, get_contact_for_user
from salesflow.parties.selectors import follow_up_policies
from salesflow.parties.services import follow_up_policy_save
from salesflow.sales.models import Opportunity
from salesflow.sales.permissions import get_opportunity_for_user
from salesflow.users.models import User
from salesflow.users.selectors import active_calendar_token, calendar_feed_user
from salesflow.users.services import calendar_token_create, calendar_token_revoke

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


def _edited_links(user: User, activity: Activity, data: QueryDict) -> Links:
    """The links posted by the edit form: a field not posted or an unchanged id keeps the
    current record (even one the editor could not open), an empty value removes the link,
    a new id is resolved through its access function (404)."""
    links = Links()
    for name in LINK_NAMES:
        if name not in data:  # not posted: kept as it is
            setattr(links, name, getattr(activity, name))
            continue
        value = data.get(name, "").strip()
        if value and value == str(getattr(activity, f"{name}_id") or ""):
            setattr(links, name, getattr(activity, name))
        elif value:
            setattr(links, name, getattr(Links.from_query(user, QueryDict(urlencode({name: value}))), name))
    return links


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
            **_bulk_context(user),
        },
    )


@require_GET
def activity_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    activity = get_activity_for_user(user, pk)
    complete_form = CompleteForm(initial={"outcome": activity.outcome}, auto_id="complete_%s")
    complete_form.mark_required(kind_requirements().get(activity.kind))
    return render(
        request,
        "activities/detail.html",
        {
            "activity": activity,
            "can_write": can_write_activity(user, activity),
            "complete_form": complete_form,
            "events": timeline_for(activity, user=user),
            "can_check_in": activity.kind == ActivityKind.VISIT
            and activity.owner_id == user.pk
            and activity.check_in_at is None,
            "check_in_form": CheckInForm(auto_id="checkin_%s"),
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
            else ActivityForm(request.POST, user=user, links=links.as_kwargs())
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
        # "New task" / "New activity" plan work (not done); "Log follow-up" and the panel's
        # "More details" (``?log=1``) record what happened (done unless due in the future,
        # which the page script handles as the due time is entered).
        initial: dict[str, Any] = {"done": data.get("log") == "1"}
        kind = data.get("kind", "")
        if kind in ActivityKind.values:
            initial["kind"] = kind
        if kind == ActivityKind.TASK:
            initial["done"] = False
        form = ActivityForm(initial=initial, user=user, links=links.as_kwargs())
    return render(
        request,
        "activities/form.html",
        {
            "form": form,
            "done_from_due": data.get("log") == "1",
            "kind_requirements_json": json.dumps(kind_requirements()),
            "log": data.get("log") == "1",
            "next": _safe_next(request, ""),
            "cancel_url": _safe_next(request, reverse("activities:list")),
        },
    )


@require_http_methods(["GET", "POST"])
def activity_edit_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _user(request)
    activity = _writable_activity(request, pk)
    current = Links(
        lead=activity.lead, account=activity.account, contact=activity.contact, opportunity=activity.opportunity
    )
    if request.method == "POST":
        links = _edited_links(user, activity, request.POST)
        form = ActivityForm(request.POST, user=user, current_owner=activity.owner, links=links.as_kwargs())
        if form.is_valid():
            changes = {
                name: record
                for name, record in links.as_kwargs().items()
                if getattr(record, "pk", None) != getattr(activity, f"{name}_id")
            }
            try:
                activity_update(actor=user, activity=activity, **form.service_kwargs(), **changes)
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("The activity was saved."))
                return redirect(_safe_next(request, reverse("activities:detail", args=[activity.pk])))
    else:
        form = ActivityForm(
            initial=ActivityForm.initial_for(activity),
            user=user,
            current_owner=activity.owner,
            links=current.as_kwargs(),
        )
    return render(
        request,
        "activities/form.html",
        {
            "form": form,
            "activity": activity,
            "next": _safe_next(request, ""),
            "cancel_url": reverse("activities:detail", args=[activity.pk]),
            "kind_requirements_json": json.dumps(kind_requirements()),
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
    detail = reverse("activities:detail", args=[activity.pk])
    if not form.is_valid():
        if request.htmx:
            return HttpResponse(status=400)
        messages.error(request, _("Enter a valid date for the next follow-up."))
        return redirect(detail)
    try:
        activity_complete(
            actor=user,
            activity=activity,
            outcome=form.cleaned_data.get("outcome") or "",
            next_follow_up=form.cleaned_data.get("next_follow_up"),
        )
    except ValidationFailed as exc:
        # issue 7: this kind needs an outcome / a next follow-up date: complete it on its page
        for errors in exc.field_errors.values():
            for error in errors:
                messages.warning(request, error)
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = detail + "#complete"
            return response
        return redirect(detail + "#complete")
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
            "kind_requirements_json": json.dumps(kind_requirements()),
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


# --- remote search for the link fields ------------------------------------------------------

LINK_SEARCH_LIMIT = 10
LINK_SEARCH_MAX_TERM = 100


@require_GET
def activity_link_search_view(request: HttpRequest) -> JsonResponse:
    """``?kind=lead|account|contact|opportunity&q=…``: up to ten records of that kind the
    user may see whose name contains ``q`` (the link fields' remote search), as
    ``{"results": [{"value": id, "text": label}]}``. Unknown kinds are 404."""
    kind = request.GET.get("kind", "")
    if kind not in LINK_NAMES:
        raise Http404("unknown kind")
    term = request.GET.get("q", "").replace("\x00", "").strip()[:LINK_SEARCH_MAX_TERM]
    found = link_search(_user(request), kind, term, limit=LINK_SEARCH_LIMIT)
    return JsonResponse({"results": [{"value": r.pk, "text": record_label(r)} for r in found]})


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


def _bulk_context(user: User) -> dict[str, Any]:
    return {
        "bulk_form": ActivityBulkForm(user=user),
        "bulk_url": reverse("activities:bulk"),
        "bulk_refresh": "",
        "bulk_max": f"{BULK_MAX:,}",
    }


def activities_matching(user: User, params: QueryDict) -> QuerySet[Activity]:
    """The rows of the activity list for these query parameters (its own filter form)."""
    links = Links.from_query(user, params)
    form = ActivityFilterForm(params or None, user=user)
    return activity_list(user, **form.filters(), **{name: obj.pk for name, obj in links.items()})


def _activity_action(user: User, form: ActivityBulkForm) -> Callable[[Activity], object]:
    action = form.cleaned_data["action"]
    if action == "assign":
        owner = form.require("owner")
        return lambda activity: activity_update(actor=user, activity=activity, owner=owner)
    if action == "complete":
        return lambda activity: activity_complete(actor=user, activity=activity)
    return lambda activity: activity_delete(actor=user, activity=activity)


@require_POST
def activity_bulk_view(request: HttpRequest) -> HttpResponse:
    """Apply one action to the ticked activities or to every activity matching the filters."""
    user = _user(request)
    return run_bulk_form(
        request,
        ActivityBulkForm(request.POST, user=user),
        visible=activities_visible_to(user),
        matching=lambda params: activities_matching(user, params),
        action=lambda form: _activity_action(user, form),
        fallback=reverse("activities:list"),
    )


# --- follow-up discipline (issue 7) ------------------------------------------------------------


@require_POST
def activity_check_in_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Check in at a visit (the owner only): the position the browser found, or a typed address."""
    user = _user(request)
    activity = get_activity_for_user(user, pk)
    form = CheckInForm(request.POST)
    detail = reverse("activities:detail", args=[activity.pk])
    if not form.is_valid():
        messages.error(request, _("The check-in could not be saved."))
        return redirect(detail)
    try:
        activity_check_in(actor=user, activity=activity, **form.cleaned_data)
    except ValidationFailed as exc:
        for errors in exc.field_errors.values():
            for error in errors:
                messages.error(request, error)
    except Conflict as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Checked in."))
    return redirect(detail)


def _admin(request: HttpRequest) -> User:
    user = _user(request)
    if not user.is_admin:
        raise PermissionDenied(_("Only an administrator may change the follow-up settings."))
    return user


@require_http_methods(["GET", "POST"])
def follow_up_settings_view(request: HttpRequest) -> HttpResponseBase:
    """Administrators: follow-up frequency per grade, what each activity type needs when
    done, and the escalation ladder (issue 7). Each section posts on its own."""
    user = _admin(request)
    policies = {policy.grade: policy for policy in follow_up_policies()}
    configs = kind_configs()
    steps = escalation_steps()
    section = request.POST.get("section", "") if request.method == "POST" else ""
    policy_forms = [
        (
            grade,
            label,
            PolicyForm(
                request.POST if section == "policies" else None,
                prefix=f"grade-{grade}",
                initial={
                    "every_days": getattr(policies.get(grade), "every_days", None),
                    "grace_days": getattr(policies.get(grade), "grace_days", 0),
                },
            ),
        )
        for grade, label in Grade.choices
    ]
    kind_forms = [
        (
            kind,
            label,
            KindConfigForm(
                request.POST if section == "kinds" else None,
                prefix=f"kind-{kind}",
                initial={
                    "needs_outcome": getattr(configs.get(kind), "needs_outcome", False),
                    "needs_next_follow_up": getattr(configs.get(kind), "needs_next_follow_up", False),
                    "counts_as_follow_up": getattr(configs.get(kind), "counts_as_follow_up", True),
                },
            ),
        )
        for kind, label in ActivityKind.choices
    ]
    step_forms = [
        (
            step,
            EscalationStepForm(
                request.POST if section == "steps" else None,
                prefix=f"step-{step.pk}",
                initial={"position": step.position, "after_days_over": step.after_days_over, "action": step.action},
            ),
        )
        for step in steps
    ]
    new_step = EscalationStepForm(request.POST if section == "new_step" else None, prefix="new")
    saved = False
    if section:
        try:
            saved = _save_follow_up_settings(user, section, policy_forms, kind_forms, step_forms, new_step)
        except ServiceError as exc:
            messages.error(request, " ".join([str(exc.message), *(m for ms in exc.field_errors.values() for m in ms)]))
        if saved:
            messages.success(request, _("The follow-up settings were saved."))
            return redirect("follow_up_settings")
    return render(
        request,
        "activities/follow_up_settings.html",
        {"policy_forms": policy_forms, "kind_forms": kind_forms, "step_forms": step_forms, "new_step": new_step},
    )


@transaction.atomic
def _save_follow_up_settings(
    user: User,
    section: str,
    policy_forms: list[tuple[str, Any, PolicyForm]],
    kind_forms: list[tuple[str, Any, KindConfigForm]],
    step_forms: list[tuple[FollowUpEscalationStep, EscalationStepForm]],
    new_step: EscalationStepForm,
) -> bool:
    """Validate every form of ``section`` first, then call the services (all or nothing)."""
    if section == "policies":
        if not all(form.is_valid() for _g, _l, form in policy_forms):
            return False
        for grade, _label, form in policy_forms:
            follow_up_policy_save(actor=user, grade=grade, **form.cleaned_data)
        return True
    if section == "kinds":
        if not all(form.is_valid() for _k, _l, form in kind_forms):
            return False
        for kind, _label, kform in kind_forms:
            activity_kind_config_save(actor=user, kind=kind, **kform.cleaned_data)
        return True
    if section == "steps":
        if not all(form.is_valid() for _s, form in step_forms):
            return False
        for step, sform in step_forms:
            data = sform.cleaned_data
            if data["delete"]:
                escalation_step_delete(actor=user, step=step)
            elif (data["position"], data["after_days_over"], data["action"]) != (
                step.position,
                step.after_days_over,
                step.action,
            ):
                if data["position"] != step.position:
                    escalation_step_delete(actor=user, step=step)
                escalation_step_save(
                    actor=user,
                    position=data["position"],
                    after_days_over=data["after_days_over"],
                    action=data["action"],
                )
        return True
    if section == "new_step":
        if not new_step.is_valid():
            return False
        data = new_step.cleaned_data
        escalation_step_save(
            actor=user, position=data["position"], after_days_over=data["after_days_over"], action=data["action"]
        )
        return True
    return False


# --- the private calendar feed (ICS) ----------------------------------------------------------


def calendar_feed_url(request: HttpRequest, raw: str) -> str:
    return request.build_absolute_uri(reverse("calendar_feed", args=[raw]))


@require_http_methods(["GET", "POST"])
def calendar_settings_view(request: HttpRequest) -> HttpResponse:
    """The user's calendar feed URL: create or rotate it (shown once), or revoke it."""
    user = _user(request)
    url = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "create":
            _token, raw = calendar_token_create(actor=user)
            url = calendar_feed_url(request, raw)
            messages.success(request, _("Your calendar feed URL was created. Copy it now: it is shown only once."))
        elif action == "revoke":
            calendar_token_revoke(actor=user)
            messages.success(request, _("Your calendar feed URL was revoked."))
    return render(
        request,
        "activities/calendar_settings.html",
        {"token": active_calendar_token(user), "url": url},
    )


@login_not_required
@require_GET
def calendar_feed_view(request: HttpRequest, token: str) -> HttpResponse:
    """The ICS feed of a calendar token (no login: the token is the secret). Unknown or
    revoked tokens answer 404."""
    user = calendar_feed_user(token)
    if user is None:
        raise Http404("calendar not found")
    body = build_calendar(user, calendar_items(user, timezone.now()), base_url=request.build_absolute_uri("/"))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="salesflow.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
