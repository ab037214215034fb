"""Who may do what in customer protection.

- The known-customer list is loaded and browsed by administrators (and the system actor):
  it names owners across the whole company.
- A collision is seen by its two reps (read-only), by every manager whose team subtree
  holds both reps, and by administrators. It is decided by administrators and by those
  managers — never by one of the two reps themselves.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from salesflow.protection.models import Collision
from salesflow.users.choices import Role
from salesflow.users.models import User
from salesflow.users.permissions import is_system_actor, visible_owner_ids


def can_manage_known_customers(user: User) -> bool:
    """Administrators (and the system actor) load and browse the known-customer list."""
    if is_system_actor(user):
        return True
    return bool(user.is_authenticated and user.is_active and user.is_admin)


def is_arbiter_role(user: User) -> bool:
    """Managers and administrators may arbitrate some collisions (the queue page is theirs)."""
    if is_system_actor(user):
        return True
    return bool(user.is_authenticated and user.is_active and (user.is_admin or user.role == Role.MANAGER))


def collisions_visible_to(user: User) -> QuerySet[Collision]:
    """The collisions ``user`` may read: their own as claimant or holder, those of two reps
    in their subtree (managers), every one (administrators)."""
    qs = Collision.objects.all()
    if not (user.is_authenticated and user.is_active) and not is_system_actor(user):
        return qs.none()
    ids = visible_owner_ids(user)
    if ids is None:
        return qs
    own = Q(claimant_id=user.pk) | Q(holder_id=user.pk)
    if user.role == Role.MANAGER:
        return qs.filter(own | (Q(claimant_id__in=ids) & Q(holder_id__in=ids)))
    return qs.filter(own)


def collisions_decidable_by(user: User) -> QuerySet[Collision]:
    """The collisions ``user`` may decide (any status): see :func:`can_decide`."""
    if not is_arbiter_role(user):
        return Collision.objects.none()
    ids = visible_owner_ids(user)
    if ids is None:
        return Collision.objects.all()
    return Collision.objects.filter(claimant_id__in=ids, holder_id__in=ids).exclude(
        Q(claimant_id=user.pk) | Q(holder_id=user.pk)
    )


def can_decide(user: User, collision: Collision) -> bool:
    """Administrators, and managers whose subtree holds both reps (not being one of them)."""
    if not is_arbiter_role(user):
        return False
    ids = visible_owner_ids(user)
    if ids is None:
        return True
    if user.pk in (collision.claimant_id, collision.holder_id):
        return False
    return collision.claimant_id in ids and collision.holder_id in ids
