"""Access functions for leads. Unseen → 404; seen but not writable → 403."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.core.errors import Forbidden
from salesflow.leads.models import Lead
from salesflow.users.models import User
from salesflow.users.permissions import can_see_unowned, visible_owner_ids, writable_owner_ids


def leads_visible_to(user: User) -> QuerySet[Lead]:
    """Every lead ``user`` may see. Unassigned leads are visible to managers and admins."""
    ids = visible_owner_ids(user)
    qs = Lead.objects.all()
    if ids is None:
        return qs
    cond = Q(owner_id__in=ids)
    if can_see_unowned(user):
        cond |= Q(owner__isnull=True)
    return qs.filter(cond)


def can_write_lead(user: User, lead: Lead) -> bool:
    ids = writable_owner_ids(user)
    if ids is None:
        return True
    if lead.owner_id is None:
        return can_see_unowned(user)
    return lead.owner_id in ids


def get_lead_for_user(user: User, pk: object, *, write: bool = False) -> Lead:
    """The lead ``pk`` if visible (else ``Http404``); ``write`` → writable or ``Forbidden``."""
    try:
        lead = leads_visible_to(user).select_related("owner", "region", "disqualify_reason").get(pk=int(str(pk)))
    except (Lead.DoesNotExist, ValueError):
        raise Http404("lead not found") from None
    if write and not can_write_lead(user, lead):
        raise Forbidden(_("You may not change this lead."))
    return lead
