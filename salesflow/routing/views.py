"""Pages of lead capture and assignment.

- ``/f/<token>/`` — the public web-to-lead form (no login, CSRF-exempt for this view only,
  frameable only by the form's configured origins).
- ``/settings/lead-forms/`` — administrators: forms and their embed snippets.
- ``/settings/assignment/`` — administrators: assignment rules (ordered), working hours,
  first-response SLAs and a dry run of the rules.
- ``/routing/leads/<pk>/`` — the lead page's panel: assignment history and SLA state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from salesflow.core.errors import ServiceError, ValidationFailed
from salesflow.core.web import apply_service_error
from salesflow.leads.permissions import get_lead_for_user
from salesflow.routing.forms import HoursForm, LeadCaptureFormForm, PreviewForm, RuleForm, SlaForm, field_labels
from salesflow.routing.models import FORM_FIELDS, LeadCaptureForm
from salesflow.routing.permissions import can_configure_routing
from salesflow.routing.selectors import (
    CONSENT,
    HONEYPOT,
    assignment_history,
    embed_snippets,
    form_by_pk,
    forms_list,
    hours_by_pk,
    hours_list,
    public_form,
    recent_submissions,
    rule_by_pk,
    rules_list,
    sla_by_pk,
    sla_state,
    slas_list,
)
from salesflow.routing.services import (
    client_address,
    form_create,
    form_delete,
    form_submit,
    form_update,
    normalize_origin,
    preview_assignment,
    rule_create,
    rule_delete,
    rule_move,
    rule_update,
    sla_delete,
    sla_save,
    submission_allowed,
    working_hours_add,
    working_hours_delete,
)
from salesflow.users.models import User


def _admin(request: HttpRequest) -> User:
    user = cast(User, request.user)
    if not can_configure_routing(user):
        raise PermissionDenied(_("Only administrators configure lead capture and assignment."))
    return user


# --- the public form -------------------------------------------------------------------------


def _frame_headers(response: HttpResponse, form: LeadCaptureForm) -> HttpResponse:
    """Let the form's configured origins (and only them) frame the page: a page-specific
    Content-Security-Policy (``frame-ancestors``) and no ``X-Frame-Options`` (which cannot
    name origins); without origins the page stays unframeable (``DENY``)."""
    origins = form.origins
    actions = "'self'"
    target = None
    if form.redirect_url:
        target = normalize_origin(urlunsplit(urlsplit(form.redirect_url)._replace(path="", query="", fragment="")))
    if target:
        actions += f" {target}"
    ancestors = " ".join(origins) if origins else "'none'"
    response["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
        f"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action {actions}; frame-ancestors {ancestors}"
    )
    if origins:
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
    return response


def _render_public(
    request: HttpRequest,
    form: LeadCaptureForm,
    template: str,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> HttpResponse:
    labels = field_labels()
    errors = errors or {}
    fields = [
        {
            "name": name,
            "label": labels[name],
            "required": name in form.required_fields,
            "value": (values or {}).get(name, ""),
            "errors": errors.get(name, []),
            "type": "email" if name == "email" else ("tel" if name in ("mobile", "phone") else "text"),
        }
        for name in form.fields
        if name in FORM_FIELDS
    ]
    context: dict[str, Any] = {
        "form": form,
        "fields": fields,
        "general_errors": errors.get("__all__", []),
        "consent_errors": errors.get(CONSENT, []),
        "has_errors": bool(errors),
        "honeypot": HONEYPOT,
        "consent_name": CONSENT,
    }
    return _frame_headers(render(request, template, context, status=status), form)


@csrf_exempt
@login_not_required
@require_http_methods(["GET", "POST"])
def public_form_view(request: HttpRequest, token: str) -> HttpResponse:
    """``GET``: the form page. ``POST`` (a plain HTML form from any site): capture the lead,
    then the thank-you page or a 303 to the form's redirect URL; 400 with the messages for
    invalid input; 429 past the rate limit; 404 for an unknown or inactive form."""
    form = public_form(token)
    if request.method == "GET":
        return _render_public(request, form, "routing/public_form.html")
    address = client_address(request.META)
    if not submission_allowed(form, address):
        return _render_public(request, form, "routing/public_limited.html", status=429)
    values = {name: str(request.POST.get(name, ""))[:5000] for name in form.fields}
    try:
        form_submit(
            form=form,
            data=values,
            consent=bool(request.POST.get(CONSENT)),
            honeypot=str(request.POST.get(HONEYPOT, "")),
            address=address,
            user_agent=str(request.META.get("HTTP_USER_AGENT", "")),
        )
    except ValidationFailed as exc:
        safe = {key: value.replace("\x00", "") for key, value in values.items()}
        return _render_public(
            request, form, "routing/public_form.html", status=400, values=safe, errors=exc.field_errors
        )
    if form.redirect_url:
        return _frame_headers(HttpResponseRedirect(form.redirect_url, status=303), form)
    return _render_public(request, form, "routing/public_thanks.html")


# --- settings: web-to-lead forms -------------------------------------------------------------


def _form_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {key: data[key] for key in LeadCaptureFormForm.base_fields if key in data}
    values["fields"] = values.pop("shown_fields", [])
    return values


@require_http_methods(["GET", "POST"])
def lead_forms_view(request: HttpRequest) -> HttpResponse:
    """The list of web-to-lead forms and a new one."""
    user = _admin(request)
    new = LeadCaptureFormForm(
        request.POST or None,
        initial={"shown_fields": ["name", "company_name", "mobile", "email"], "required_fields": ["name", "mobile"]},
    )
    status = 200
    if request.method == "POST":
        if new.is_valid():
            try:
                created = form_create(actor=user, **_form_values(new.cleaned_data))
            except ServiceError as exc:
                apply_service_error(new, exc)
            else:
                messages.success(request, _("The form was created."))
                return redirect("routing:lead_form", created.pk)
        status = 400
    return render(request, "routing/lead_forms.html", {"forms": list(forms_list()), "new_form": new}, status=status)


@require_http_methods(["GET", "POST"])
def lead_form_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One form: edit it, copy its embed snippets, see its latest submissions."""
    user = _admin(request)
    row = form_by_pk(pk)
    initial = {key: getattr(row, key) for key in LeadCaptureFormForm.base_fields if key != "shown_fields"}
    initial["shown_fields"] = row.fields
    edit = LeadCaptureFormForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if edit.is_valid():
            try:
                form_update(actor=user, form=row, **_form_values(edit.cleaned_data))
            except ServiceError as exc:
                apply_service_error(edit, exc)
            else:
                messages.success(request, _("The form was saved."))
                return redirect("routing:lead_form", row.pk)
        status = 400
    url = request.build_absolute_uri(reverse("routing:public_form", args=[row.token]))
    context = {
        "row": row,
        "edit": edit,
        "public_url": url,
        "snippets": embed_snippets(row, url, field_labels()),
        "submissions": recent_submissions(row),
    }
    return render(request, "routing/lead_form.html", context, status=status)


@require_POST
def lead_form_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _admin(request)
    form_delete(actor=user, form=form_by_pk(pk))
    messages.success(request, _("The form was deleted."))
    return redirect("routing:lead_forms")


# --- settings: assignment --------------------------------------------------------------------


@require_http_methods(["GET"])
def assignment_settings_view(request: HttpRequest) -> HttpResponse:
    """Rules in evaluation order, working hours, SLAs and the dry run (``?source_channel=…``)."""
    user = _admin(request)
    preview_form = PreviewForm(request.GET if "source_channel" in request.GET else None)
    preview: dict[str, Any] | None = None
    if preview_form.is_bound and preview_form.is_valid():
        data = preview_form.cleaned_data
        decision = preview_assignment(
            actor=user,
            values={
                "source_channel": data["source_channel"],
                "industry": data["industry"],
                "campaign": data["campaign"],
                "region": data["region"],
            },
        )
        preview = {"decision": decision}
    context = {
        "rules": list(rules_list()),
        "hours": list(hours_list()),
        "slas": list(slas_list()),
        "sla_form": SlaForm(prefix="sla"),
        "hours_form": HoursForm(prefix="hours"),
        "preview_form": preview_form,
        "preview": preview,
    }
    return render(
        request,
        "routing/assignment.html",
        context,
        status=200 if preview_form.is_valid() or not preview_form.is_bound else 400,
    )


def _rule_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {key: data[key] for key in RuleForm.base_fields if key in data}
    values["members"] = list(values.get("members") or [])
    return values


@require_http_methods(["GET", "POST"])
def rule_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create (no ``pk``) or edit an assignment rule."""
    user = _admin(request)
    rule = rule_by_pk(pk) if pk is not None else None
    form = RuleForm(request.POST or None, initial=RuleForm.initial_for(rule) if rule else {"is_active": True})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                if rule is None:
                    rule_create(actor=user, **_rule_values(form.cleaned_data))
                else:
                    rule_update(actor=user, rule=rule, **_rule_values(form.cleaned_data))
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("The rule was saved."))
                return redirect("routing:assignment")
        status = 400
    return render(request, "routing/rule_form.html", {"rule": rule, "form": form}, status=status)


@require_POST
def rule_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _admin(request)
    direction = request.POST.get("direction", "")
    try:
        rule_move(actor=user, rule=rule_by_pk(pk), direction=direction)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    return redirect("routing:assignment")


@require_POST
def rule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _admin(request)
    rule_delete(actor=user, rule=rule_by_pk(pk))
    messages.success(request, _("The rule was deleted."))
    return redirect("routing:assignment")


@require_POST
def sla_add_view(request: HttpRequest) -> HttpResponse:
    user = _admin(request)
    form = SlaForm(request.POST, prefix="sla")
    return _save_from_form(
        request,
        form,
        lambda data: sla_save(
            actor=user,
            source_channel=data["source_channel"],
            sub_channel=data["sub_channel"],
            minutes=data["minutes"],
            is_active=data["is_active"],
        ),
        _("The SLA was saved."),
    )


@require_POST
def sla_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _admin(request)
    sla_delete(actor=user, sla=sla_by_pk(pk))
    messages.success(request, _("The SLA was deleted."))
    return redirect("routing:assignment")


@require_POST
def hours_add_view(request: HttpRequest) -> HttpResponse:
    user = _admin(request)
    form = HoursForm(request.POST, prefix="hours")
    return _save_from_form(
        request,
        form,
        lambda data: working_hours_add(
            actor=user,
            weekdays="".join(data["weekdays"]),
            start=data["start"],
            end=data["end"],
            user=data["user"],
            rule=data["rule"],
        ),
        _("The working hours were saved."),
    )


def _save_from_form(
    request: HttpRequest, form: Any, save: Callable[[dict[str, Any]], object], done: str
) -> HttpResponse:
    """Call ``save`` with a valid form's data; report success or every error as a message and
    go back to the assignment settings page (the SLA and working-hours forms live there)."""
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, done)
            return redirect("routing:assignment")
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))
    return redirect("routing:assignment")


@require_POST
def hours_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _admin(request)
    working_hours_delete(actor=user, hours=hours_by_pk(pk))
    messages.success(request, _("The working hours were deleted."))
    return redirect("routing:assignment")


# --- the lead page's panel -------------------------------------------------------------------


@require_http_methods(["GET"])
def lead_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """``GET /routing/leads/<pk>/``: the lead's assignment history and first-response SLA
    (whoever may read the lead)."""
    lead = get_lead_for_user(cast(User, request.user), pk)
    context = {"lead": lead, "history": assignment_history(lead), "sla": sla_state(lead)}
    return render(request, "routing/partials/lead_panel.html", context)
