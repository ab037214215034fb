"""Helpers of the customer's public page: the client address and the rate limit."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone


def client_address(meta: Mapping[str, Any]) -> str | None:
    """``REMOTE_ADDR`` when it is an IP address. ``X-Forwarded-For`` is not read: the
    project trusts no proxy header for client addresses (see the settings' note on
    proxies), so a customer cannot forge the address recorded with their decision."""
    raw = str(meta.get("REMOTE_ADDR") or "")
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def decision_allowed(address: str | None) -> bool:
    """Count one decision attempt for the address in the current window (Django cache,
    ``QUOTES_DECISION_RATE_WINDOW`` seconds, default an hour); ``False`` past
    ``QUOTES_DECISION_RATE_PER_IP`` (default 20; 0 = no limit)."""
    window = int(getattr(settings, "QUOTES_DECISION_RATE_WINDOW", 3600) or 3600)
    limit = int(getattr(settings, "QUOTES_DECISION_RATE_PER_IP", 20))
    if not limit:
        return True
    key = f"quotes:decide:{address or 'unknown'}:{int(timezone.now().timestamp() // window)}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=window)
        count = 1
    return bool(count <= limit)
