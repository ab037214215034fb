"""The jobs of contracts (listed in ``salesflow/schedule.py``): renewal reminders and expiry."""

from __future__ import annotations

from django_tasks import task

from salesflow.contracts.services import contracts_expire_run, renewal_reminder_days, renewal_reminders_run


@task()
def renewal_reminders(slot: str = "") -> int:
    """Daily: remind owners of signed contracts ending within the configured days (the
    settings page, ``ContractSettings.renewal_reminder_days``); returns how many were
    reminded. Idempotent: one reminder per contract and end date. Terminated and expired
    contracts are never reminded (only signed ones qualify)."""
    return renewal_reminders_run(days_before=renewal_reminder_days())


@task()
def expire_contracts(slot: str = "") -> int:
    """Daily: signed contracts whose end date has passed become expired; returns how many.
    Idempotent: a second run the same day changes nothing."""
    return contracts_expire_run()
