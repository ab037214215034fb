"""Reads of lead capture and assignment: forms, rules, hours and SLAs for the settings
pages and the API, the public form by token, and a lead's routing panel (history + SLA)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.activities.models import Activity
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.routing.models import (
    AssignmentRule,
    FirstResponseSla,
    FormSubmission,
    LeadAssignment,
    LeadCaptureForm,
    SlaClock,
    WorkingHours,
)
from salesflow.users.models import User

TOKEN_MAX = 64
HONEYPOT = "website"
CONSENT = "consent"


def forms_list() -> QuerySet[LeadCaptureForm]:
    """Every form with its number of submissions (one query)."""
    return LeadCaptureForm.objects.annotate(submission_count=Count("submissions")).order_by("name", "id")


def form_by_pk(pk: object) -> LeadCaptureForm:
    """The form ``pk`` or ``Http404``."""
    try:
        return LeadCaptureForm.objects.get(pk=int(str(pk)))
    except (LeadCaptureForm.DoesNotExist, ValueError, OverflowError):
        raise Http404("form not found") from None


def public_form(token: str) -> LeadCaptureForm:
    """The active form with this public token; unknown, malformed or inactive → ``Http404``
    (the same answer, so the page does not tell which)."""
    if not token or len(token) > TOKEN_MAX or "\x00" in token:
        raise Http404("form not found")
    form = LeadCaptureForm.objects.filter(token=token, is_active=True).first()
    if form is None:
        raise Http404("form not found")
    return form


def recent_submissions(form: LeadCaptureForm, limit: int = 10) -> list[FormSubmission]:
    """The form's latest submissions with their leads (``routing_sub_form_idx``)."""
    return list(form.submissions.select_related("lead").order_by("-submitted_at", "-id")[:limit])


def rules_list() -> QuerySet[AssignmentRule]:
    """Every rule in evaluation order with what the settings page shows (constant queries)."""
    return (
        AssignmentRule.objects.select_related("territory", "user", "team")
        .prefetch_related(
            Prefetch("members", queryset=User.objects.order_by("id")),
            Prefetch("working_hours", queryset=WorkingHours.objects.order_by("id")),
        )
        .order_by("position", "id")
    )


def rule_by_pk(pk: object) -> AssignmentRule:
    try:
        return AssignmentRule.objects.get(pk=int(str(pk)))
    except (AssignmentRule.DoesNotExist, ValueError, OverflowError):
        raise Http404("rule not found") from None


def hours_list() -> QuerySet[WorkingHours]:
    return WorkingHours.objects.select_related("user", "rule").order_by("user__username", "rule__position", "id")


def hours_by_pk(pk: object) -> WorkingHours:
    try:
        return WorkingHours.objects.get(pk=int(str(pk)))
    except (WorkingHours.DoesNotExist, ValueError, OverflowError):
        raise Http404("hours not found") from None


def slas_list() -> QuerySet[FirstResponseSla]:
    return FirstResponseSla.objects.order_by("source_channel", "sub_channel")


def sla_by_pk(pk: object) -> FirstResponseSla:
    try:
        return FirstResponseSla.objects.get(pk=int(str(pk)))
    except (FirstResponseSla.DoesNotExist, ValueError, OverflowError):
        raise Http404("SLA not found") from None


def assignment_history(lead: Lead) -> list[LeadAssignment]:
    """The lead's assignment history, newest first (``routing_assign_lead_idx``)."""
    return list(
        LeadAssignment.objects.filter(lead=lead).select_related("owner", "previous_owner", "by").order_by("-at", "-id")
    )


@dataclass(frozen=True)
class SlaState:
    """A lead's first-response SLA as the lead page shows it."""

    due_at: datetime
    minutes: int
    state: str  # "due", "missed", "met", "escalated"
    responded_at: datetime | None
    escalated_at: datetime | None


def sla_state(lead: Lead, *, now: datetime | None = None) -> SlaState | None:
    """The lead's SLA clock with its state: met (first done activity or left "new" — by
    the due time or after it), escalated, missed (past due, not escalated yet) or due."""
    clock = SlaClock.objects.filter(lead=lead).first()
    if clock is None:
        return None
    moment = now or timezone.now()
    responded = clock.responded_at
    if responded is None:
        first = (
            Activity.objects.filter(lead=lead, done=True, done_at__isnull=False)
            .order_by("done_at")
            .values_list("done_at", flat=True)
            .first()
        )
        if first is not None:
            responded = first
        elif lead.status != LeadStatus.NEW:
            responded = lead.updated_at
    minutes = int((clock.due_at - clock.started_at).total_seconds() // 60)
    if responded is not None:
        state = "met"
    elif clock.escalated_at is not None:
        state = "escalated"
    elif clock.due_at <= moment:
        state = "missed"
    else:
        state = "due"
    return SlaState(clock.due_at, minutes, state, responded, clock.escalated_at)


def embed_snippets(form: LeadCaptureForm, url: str, labels: dict[str, str]) -> dict[str, str]:
    """The iframe and plain-HTML-form snippets a website pastes to embed ``form``."""
    iframe = (
        f'<iframe src="{escape(url)}" title="{escape(form.title or form.name)}" '
        'width="100%" height="640" loading="lazy" referrerpolicy="strict-origin-when-cross-origin" '
        'style="border:0"></iframe>'
    )
    lines = [f'<form action="{escape(url)}" method="post" accept-charset="utf-8">']
    for name in form.fields:
        required = " required" if name in form.required_fields else ""
        kind = "email" if name == "email" else ("tel" if name in ("mobile", "phone") else "text")
        label = escape(labels.get(name, name))
        if name == "need":
            lines.append(f'  <label>{label}<br><textarea name="need"{required}></textarea></label><br>')
        else:
            lines.append(f'  <label>{label}<br><input type="{kind}" name="{name}"{required}></label><br>')
    lines.append(
        f'  <input type="text" name="{HONEYPOT}" value="" tabindex="-1" autocomplete="off" '
        'aria-hidden="true" style="display:none">'
    )
    if form.consent_text:
        lines.append(
            f'  <label><input type="checkbox" name="{CONSENT}" value="yes" required> '
            f"{escape(form.consent_text)}</label><br>"
        )
    lines.append(f'  <button type="submit">{escape(_("Submit"))}</button>')
    lines.append("</form>")
    return {"iframe": iframe, "html": "\n".join(lines)}


# --- the lead list's first-response filter (leads.selectors.register_lead_list_filter) ---------

#: ``sla=`` values of the lead list, page and API; the same states as ``sla_state``.
SLA_FILTER_VALUES = ("due", "missed", "escalated", "met")


def sla_filter_choices() -> list[tuple[str, str]]:
    return [
        ("due", _("First response due")),
        ("missed", _("SLA missed")),
        ("escalated", _("SLA missed · escalated")),
        ("met", _("First response given")),
    ]


def filter_leads_by_sla(qs: QuerySet[Lead], value: str, *, now: datetime | None = None) -> QuerySet[Lead]:
    """Narrow a lead list to one first-response state, under the rule of ``sla_state``:
    ``met`` — a response was recorded, the lead has a done activity or left "new";
    ``escalated`` — the manager was told; ``missed`` — past due, no response, not
    escalated yet; ``due`` — the clock is running. Leads without a clock match none of them;
    an unknown value matches nothing. One join on the clock (a one-to-one) plus an EXISTS on
    the lead's done activities (``activity_lead`` index)."""
    moment = now or timezone.now()
    done = Exists(Activity.objects.filter(lead=OuterRef("pk"), done=True))
    if value == "escalated":
        return qs.filter(sla_clock__escalated_at__isnull=False)
    if value == "met":
        responded = Q(sla_clock__responded_at__isnull=False) | ~Q(status=LeadStatus.NEW) | Q(done)
        return qs.filter(sla_clock__isnull=False).filter(responded)
    if value not in ("due", "missed"):
        return qs.none()
    waiting = qs.filter(
        sla_clock__isnull=False,
        sla_clock__responded_at__isnull=True,
        sla_clock__escalated_at__isnull=True,
        status=LeadStatus.NEW,
    ).exclude(done)
    if value == "due":
        return waiting.filter(sla_clock__due_at__gt=moment)
    return waiting.filter(sla_clock__due_at__lte=moment)
