"""Reads for people and organisation: who a record is shared with, who may be a grantee, and
whether sign-in is locked."""

from __future__ import annotations

from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Max, QuerySet
from django.utils import timezone

from salesflow.users.models import LoginThrottle, Share, User
from salesflow.users.permissions import SYSTEM_USERNAME


def shares_of(target: models.Model) -> QuerySet[Share]:
    """The shares of ``target`` with their grantees loaded (one query)."""
    return (
        Share.objects.filter(content_type=ContentType.objects.get_for_model(target), object_id=target.pk)
        .select_related("grantee_user", "grantee_team", "created_by")
        .order_by("created_at", "id")
    )


def shareable_users() -> QuerySet[User]:
    """People a record can be shared with: active users, not the system actor."""
    return User.objects.filter(is_active=True).exclude(username=SYSTEM_USERNAME).order_by("display_name", "username")


def login_throttle_keys(*, username: str, address: str) -> list[tuple[str, str]]:
    """The (scope, key) rows that count sign-in failures for this username and address."""
    keys = []
    name = username.strip().lower()[:150]
    if name:
        keys.append((LoginThrottle.Scope.USERNAME.value, name))
    if address:
        keys.append((LoginThrottle.Scope.ADDRESS.value, address[:150]))
    return keys


def login_locked_until(*, username: str, address: str) -> datetime | None:
    """When the lock on this username or address ends, or ``None`` when sign-in is open."""
    keys = login_throttle_keys(username=username, address=address)
    if not keys:
        return None
    rows = LoginThrottle.objects.none()
    for scope, key in keys:
        rows = rows | LoginThrottle.objects.filter(scope=scope, key=key)
    until: datetime | None = rows.filter(locked_until__gt=timezone.now()).aggregate(until=Max("locked_until"))["until"]
    return until
