"""The renewal reminder job (listed in ``salesflow/schedule.py`` as ``contracts.renewal_reminders``)."""

from __future__ import annotations

import os

from django.conf import settings
from django_tasks import task

from salesflow.contracts.services import DEFAULT_RENEWAL_DAYS, renewal_reminders_run


def renewal_days() -> int:
    """Days before the end date: the ``SALESFLOW_CONTRACT_RENEWAL_DAYS`` setting, else the
    environment variable of that name, else 60; bounded to 1–3650."""
    value = getattr(settings, "SALESFLOW_CONTRACT_RENEWAL_DAYS", None) or os.environ.get(
        "SALESFLOW_CONTRACT_RENEWAL_DAYS", DEFAULT_RENEWAL_DAYS
    )
    try:
        return max(1, min(int(str(value)), 3650))
    except (TypeError, ValueError):
        return DEFAULT_RENEWAL_DAYS


@task()
def renewal_reminders(slot: str = "") -> int:
    """Daily: remind owners of signed contracts ending within the configured days; returns how
    many were reminded. Idempotent: one reminder per contract and end date."""
    return renewal_reminders_run(days_before=renewal_days())
