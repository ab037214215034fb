"""Access functions for opportunities. Unseen → 404; seen but not writable → 403."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.core.errors import Forbidden
from salesflow.sales.models import Opportunity
from salesflow.users.models import User
from salesflow.users.permissions import visible_owner_ids, writable_owner_ids


def opportunities_visible_to(user: User) -> QuerySet[Opportunity]:
    """Every opportunity ``user`` may see (lists, board, counts, totals, API)."""
    ids = visible_owner_ids(user)
    qs = Opportunity.objects.all()
    return qs if ids is None else qs.filter(owner_id__in=ids)


def can_write_opportunity(user: User, opportunity: Opportunity) -> bool:
    ids = writable_owner_ids(user)
    return ids is None or opportunity.owner_id in ids


def get_opportunity_for_user(user: User, pk: object, *, write: bool = False) -> Opportunity:
    """The opportunity ``pk`` if visible (else ``Http404``); ``write`` → writable or ``Forbidden``."""
    try:
        opp = (
            opportunities_visible_to(user)
            .select_related("account", "owner", "pipeline", "stage", "lost_reason", "lost_to")
            .get(pk=int(str(pk)))
        )
    except (Opportunity.DoesNotExist, ValueError):
        raise Http404("opportunity not found") from None
    if write and not can_write_opportunity(user, opp):
        raise Forbidden(_("You may not change this opportunity."))
    return opp
