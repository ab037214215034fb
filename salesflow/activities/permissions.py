"""Access functions for activities.

An activity is visible when its owner is visible or a record it is linked to is visible.
It is writable by its owner, or by whoever may write records of its owner.
Support staff may create activities on records they can see and edit their own.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.activities.models import Activity
from salesflow.core.errors import Forbidden
from salesflow.users.models import User
from salesflow.users.permissions import can_see_unowned, visible_owner_ids, writable_owner_ids


def activities_visible_to(user: User) -> QuerySet[Activity]:
    """Every activity ``user`` may see."""
    ids = visible_owner_ids(user)
    qs = Activity.objects.all()
    if ids is None:
        return qs
    cond = (
        Q(owner_id__in=ids)
        | Q(account__owner_id__in=ids)
        | Q(opportunity__owner_id__in=ids)
        | Q(lead__owner_id__in=ids)
    )
    if can_see_unowned(user):
        cond |= Q(lead__isnull=False, lead__owner__isnull=True)
    return qs.filter(cond)


def can_write_activity(user: User, activity: Activity) -> bool:
    if activity.owner_id == user.pk:
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
