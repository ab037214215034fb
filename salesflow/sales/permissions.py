"""Access functions for opportunities, built on :mod:`salesflow.users.policy`.

An opportunity is readable when its owner is in the reader's scope or it is shared with
them; writable through the writable scope or a read-write share. Deleting it or giving
it another owner needs the ownership scope (:func:`can_manage_opportunity`).
Unseen → 404; seen but not writable → 403.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.core.errors import Forbidden
from salesflow.sales.models import Opportunity
from salesflow.users.models import User
from salesflow.users.policy import owned_or_shared_q


def opportunities_visible_to(user: User) -> QuerySet[Opportunity]:
    """Every opportunity ``user`` may see (lists, board, counts, totals, API)."""
    cond = owned_or_shared_q(user, Opportunity)
    qs = Opportunity.objects.all()
    return qs if cond is None else qs.filter(cond)


def opportunities_writable_by(user: User) -> QuerySet[Opportunity]:
    """Opportunities ``user`` may change (writable scope or read-write share)."""
    cond = owned_or_shared_q(user, Opportunity, write=True)
    qs = Opportunity.objects.all()
    return qs if cond is None else qs.filter(cond)


def can_write_opportunity(user: User, opportunity: Opportunity) -> bool:
    return opportunities_writable_by(user).filter(pk=opportunity.pk).exists()


def can_manage_opportunity(user: User, opportunity: Opportunity) -> bool:
    """Delete or reassign: only through the ownership scope, never through a share."""
    cond = owned_or_shared_q(user, Opportunity, write=True, shareable=False)
    return cond is None or Opportunity.objects.filter(cond, pk=opportunity.pk).exists()


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


def can_override_gates(user: User, opportunity: Opportunity) -> bool:
    """Stage gates: moving a deal past unmet entry criteria is for an administrator (or the
    system actor) or a manager whose team subtree holds the deal's owner; never a rep, an
    assistant, support or a share holder."""
    from salesflow.users.choices import Role
    from salesflow.users.permissions import writable_owner_ids
    from salesflow.users.policy import unrestricted

    if not user.is_authenticated:
        return False
    if unrestricted(user):
        return True
    if not user.is_active or user.role != Role.MANAGER:
        return False
    ids = writable_owner_ids(user)
    return ids is not None and opportunity.owner_id in ids
