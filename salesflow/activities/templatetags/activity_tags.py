"""Template helpers for activities: type icons, state badges, links to the linked records."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.utils import timezone

from salesflow.activities.models import Activity
from salesflow.activities.selectors import day_bounds

register = template.Library()

KIND_ICONS = {
    "call": "ti-phone",
    "visit": "ti-map-pin",
    "meeting": "ti-users",
    "demo": "ti-presentation",
    "email": "ti-mail",
    "note": "ti-notes",
    "task": "ti-checkbox",
}


@register.filter
def kind_icon(kind: str) -> str:
    """Tabler icon class for an activity type."""
    return KIND_ICONS.get(kind, "ti-point")


@register.filter
def activity_state(activity: Activity) -> str:
    """``done``, ``overdue`` (due and past), ``today`` (due later today), ``planned`` or ``open`` (no due date)."""
    if activity.done:
        return "done"
    if activity.due_at is None:
        return "open"
    now = timezone.now()
    if activity.due_at < now:
        return "overdue"
    if activity.due_at < day_bounds(timezone.localdate())[1]:
        return "today"
    return "planned"


@register.filter
def link_query(activity: Activity) -> str:
    """``lead=…&account=…`` for the records ``activity`` is linked to (to log a follow-up on them)."""
    pairs = [
        (name, value)
        for name, value in (
            ("lead", activity.lead_id),
            ("account", activity.account_id),
            ("contact", activity.contact_id),
            ("opportunity", activity.opportunity_id),
        )
        if value is not None
    ]
    return urlencode(pairs)
