"""Background work of activities: the daily follow-up escalation ladder (issue 7)."""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from django_tasks import task

from salesflow.activities.services import follow_up_escalate


@task()
def follow_up_escalation(slot: str = "") -> int:
    """Daily: take the escalation steps due for accounts and open deals without a follow-up
    within their grade's frequency plus grace (idempotent per record, step and due date)."""
    try:
        today = date.fromisoformat(slot)
    except ValueError:
        today = timezone.localdate(timezone.now(), timezone.get_default_timezone())
    return follow_up_escalate(today=today)
