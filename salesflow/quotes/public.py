"""Helpers of the customer's public page: the client address and the rate limit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from salesflow.core.clientip import client_ip


def client_address(meta: Mapping[str, Any]) -> str | None:
    """The client address recorded with a decision and counted by the rate limit:
    ``core.clientip.client_ip`` — ``REMOTE_ADDR``, or behind a trusted proxy
    (``SALESFLOW_TRUSTED_PROXIES``) the rightmost untrusted ``X-Forwarded-For`` address, so
    a customer cannot forge the address by sending the header."""
    return client_ip(meta)


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
