"""Background work of routing: the first-response SLA job (issue 8)."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from salesflow.routing.services import escalate_missed_slas

#: how often ``routing.first_response_sla`` runs (SLAs are counted in minutes)
SLA_EVERY = timedelta(minutes=5)


@task()
def first_response_sla(slot: str = "") -> int:
    """Every five minutes: escalate assigned leads past their first-response SLA without a
    response to the owner's manager (each lead at most once). Returns the escalations."""
    return escalate_missed_slas()
