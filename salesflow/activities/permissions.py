"""Access functions for activities, built on :mod:`salesflow.users.policy`.

An activity is visible when its owner is in the reader's scope, or the account it links
to is owned by or shared with the reader, or the deal or lead it links to is visible.
It is writable by its owner, or by whoever may write records of its owner. Support staff
may create activities on records they can see and edit their own.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.activities.models import Activity
from salesflow.core.errors import Forbidden
from salesflow.leads.models import Lead
from salesflow.parties.models import Account
from salesflow.sales.models import Opportunity
from salesflow.users.models import User
from salesflow.users.permissions import visible_owner_ids, writable_owner_ids
from salesflow.users.policy import owned_or_shared_q


def activities_owned_by_scope(user: User) -> QuerySet[Activity]:
    """Activities whose owner is in the user's scope (the work that opens their account)."""
    ids = visible_owner_ids(user)
    qs = Activity.objects.all()
    return qs if ids is None else qs.filter(owner_id__in=ids)


def activities_visible_to(user: User) -> QuerySet[Activity]:
    """Every activity ``user`` may see."""
    ids = visible_owner_ids(user)
    qs = Activity.objects.all()
    if ids is None:
        return qs
    cond = Q(owner_id__in=ids)
    for model, path, unowned in (
        (Account, "account", False),
        (Opportunity, "opportunity", False),
        (Lead, "lead", True),
    ):
        linked = owned_or_shared_q(user, model, path=path, unowned=unowned)
        if linked is not None:
            cond |= linked
    return qs.filter(cond)


def can_write_activity(user: User, activity: Activity) -> bool:
    if activity.owner_id == user.pk and user.is_active:
        return True
    ids = writable_owner_ids(user)
    return ids is None or activity.owner_id in ids


def get_activity_for_user(user: User, pk: object, *, write: bool = False) -> Activity:
    """The activity ``pk`` if visible (else ``Http404``); ``write`` → writable or ``Forbidden``."""
    try:
        activity = (
            activities_visible_to(user)
            .select_related("owner", "lead", "account", "contact", "opportunity")
            .get(pk=int(str(pk)))
        )
    except (Activity.DoesNotExist, ValueError):
        raise Http404("activity not found") from None
    if write and not can_write_activity(user, activity):
        raise Forbidden(_("You may not change this activity."))
    return activity
