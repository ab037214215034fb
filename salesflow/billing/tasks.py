"""The payment reminder job (listed in ``salesflow/schedule.py`` as ``billing.payment_reminders``)."""

from __future__ import annotations

from django_tasks import task

from salesflow.billing.services import reminders_run


@task()
def payment_reminders(slot: str = "") -> int:
    """Daily: remind owners and their assistants of instalments due in N days or overdue by
    N days (``ReminderRule``). Idempotent: each (instalment, rule day, due date) once."""
    return reminders_run()
