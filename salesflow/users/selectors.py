"""Reads for people and organisation that are not visibility rules."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max
from django.utils import timezone

from salesflow.users.models import LoginThrottle


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
