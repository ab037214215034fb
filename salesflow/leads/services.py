"""Writes for leads: create, update, qualify, disqualify, convert."""

from __future__ import annotations

from django.db import transaction

from salesflow.core.audit import record_event
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.users.models import User


@transaction.atomic
def lead_mark_contacted(*, actor: User | None, lead: Lead) -> Lead:
    """Move a ``new`` lead to ``contacted`` (first logged touch). No-op in any other status.

    Uses a conditional update so two concurrent first touches record one change.
    """
    updated = Lead.objects.filter(pk=lead.pk, status=LeadStatus.NEW).update(status=LeadStatus.CONTACTED)
    if updated:
        lead.status = LeadStatus.CONTACTED
        record_event(
            actor=actor, verb="leads.lead.status_changed", target=lead, data={"from": "new", "to": "contacted"}
        )
    return lead
