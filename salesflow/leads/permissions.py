"""Access functions for leads, built on :mod:`salesflow.users.policy`.

A lead is readable when its owner is in the reader's scope, when it is unowned and the
reader is a manager or administrator, or when it is shared with them; writable through
the writable scope or a read-write share. Unseen → 404; seen but not writable → 403.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.core.errors import Forbidden
from salesflow.leads.models import Lead
from salesflow.users.models import User
from salesflow.users.policy import owned_or_shared_q


def leads_visible_to(user: User) -> QuerySet[Lead]:
    """Every lead ``user`` may see. Unassigned leads are visible to managers and admins."""
    cond = owned_or_shared_q(user, Lead, unowned=True)
    qs = Lead.objects.all()
    return qs if cond is None else qs.filter(cond)


def leads_writable_by(user: User) -> QuerySet[Lead]:
    """Leads ``user`` may change (writable scope, unowned for managers, read-write share)."""
    cond = owned_or_shared_q(user, Lead, write=True, unowned=True)
    qs = Lead.objects.all()
    return qs if cond is None else qs.filter(cond)


def can_write_lead(user: User, lead: Lead) -> bool:
    return leads_writable_by(user).filter(pk=lead.pk).exists()


def can_manage_lead(user: User, lead: Lead) -> bool:
    """Delete or reassign: only through the ownership scope, never through a share."""
    cond = owned_or_shared_q(user, Lead, write=True, unowned=True, shareable=False)
    return cond is None or Lead.objects.filter(cond, pk=lead.pk).exists()


def get_lead_for_user(user: User, pk: object, *, write: bool = False) -> Lead:
    """The lead ``pk`` if visible (else ``Http404``); ``write`` → writable or ``Forbidden``."""
    try:
        lead = leads_visible_to(user).select_related("owner", "region", "disqualify_reason").get(pk=int(str(pk)))
    except (Lead.DoesNotExist, ValueError):
        raise Http404("lead not found") from None
    if write and not can_write_lead(user, lead):
        raise Forbidden(_("You may not change this lead."))
    return lead
