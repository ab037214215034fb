"""The reminder and escalation job (listed in ``salesflow/schedule.py`` as
``approvals.remind_and_escalate``)."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from salesflow.approvals.services import reminders_run

REMIND_EVERY = timedelta(minutes=30)


@task()
def remind_and_escalate(slot: str = "") -> int:
    """Remind approvers of steps pending past their rule's hours and escalate overdue steps
    to the approvers' managers; returns how many steps were reminded or escalated.
    Idempotent: each step entry is reminded once and escalated once."""
    result = reminders_run()
    return result.reminded + result.escalated
