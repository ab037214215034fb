"""The client address of a request, behind trusted reverse proxies.

``SALESFLOW_TRUSTED_PROXIES`` (settings; environment variable of the same name, a comma
separated list of addresses or CIDR networks such as ``10.0.0.0/8,::1``; empty by default)
names the proxies in front of the application.

Guarantees of :func:`client_ip`:

- With no trusted proxy, or when the immediate peer (``REMOTE_ADDR``) is not one of them,
  the client is the peer: ``X-Forwarded-For`` is ignored, so a client cannot choose the
  address it is counted under by sending the header.
- When the peer is trusted, ``X-Forwarded-For`` is read from the right, skipping trusted
  proxies; the first address that is not a trusted proxy is the client (the rightmost
  untrusted address — anything to its left was written by the client and is ignored). If
  every address is trusted, the leftmost one is the client. An entry that is not an IP
  address stops the walk at the last valid hop.
- IPv4-mapped IPv6 addresses are read as IPv4. ``None`` when the peer is not an IP address.
- A malformed setting raises ``ImproperlyConfigured`` naming the entry.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    networks: list[Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"SALESFLOW_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR network"
            ) from None
    return tuple(networks)


def trusted_proxies() -> tuple[Network, ...]:
    """The networks of ``SALESFLOW_TRUSTED_PROXIES`` (a list, or one comma-separated string)."""
    raw: Any = getattr(settings, "SALESFLOW_TRUSTED_PROXIES", ())
    if isinstance(raw, str):
        raw = raw.split(",")
    return _networks(tuple(str(e) for e in raw if str(e).strip()))


def _parse(raw: str) -> Address | None:
    text = raw.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_ip(meta: Mapping[str, Any]) -> str | None:
    """The client's address for ``request.META`` (see the module's guarantees)."""
    peer = _parse(str(meta.get("REMOTE_ADDR") or ""))
    if peer is None:
        return None
    networks = trusted_proxies()
    if not networks or not _trusted(peer, networks):
        return str(peer)
    client = peer
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR") or "")
    for raw in reversed([part for part in forwarded.split(",") if part.strip()]):
        hop = _parse(raw)
        if hop is None:
            break
        client = hop
        if not _trusted(hop, networks):
            break
    return str(client)
