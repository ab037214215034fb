"""``core.clientip.client_ip``: X-Forwarded-For is believed only from trusted proxies."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from salesflow.core.clientip import client_ip

PROXIES = ["10.0.0.0/8", "2001:db8::/32"]


def meta(peer: str, forwarded: str | None = None) -> dict[str, str]:
    out = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        out["HTTP_X_FORWARDED_FOR"] = forwarded
    return out


def test_without_trusted_proxies_the_header_is_ignored(settings) -> None:
    settings.SALESFLOW_TRUSTED_PROXIES = []
    assert client_ip(meta("10.0.0.5", "198.51.100.9")) == "10.0.0.5"
    assert client_ip(meta("203.0.113.7", "198.51.100.9")) == "203.0.113.7"


def test_a_client_talking_directly_cannot_spoof_its_address(settings) -> None:
    settings.SALESFLOW_TRUSTED_PROXIES = PROXIES
    assert client_ip(meta("203.0.113.7", "198.51.100.9")) == "203.0.113.7"
    assert client_ip(meta("203.0.113.7", "10.0.0.1")) == "203.0.113.7"


def test_behind_a_trusted_proxy_the_rightmost_untrusted_address_is_the_client(settings) -> None:
    settings.SALESFLOW_TRUSTED_PROXIES = PROXIES
    assert client_ip(meta("10.0.0.5", "198.51.100.9")) == "198.51.100.9"
    # the client wrote "1.2.3.4" itself; the proxy appended the address it saw
    assert client_ip(meta("10.0.0.5", "1.2.3.4, 198.51.100.9")) == "198.51.100.9"
    # two proxies in a row: both skipped
    assert client_ip(meta("10.0.0.5", "1.2.3.4, 198.51.100.9, 10.1.2.3")) == "198.51.100.9"
    assert client_ip(meta("10.0.0.5", "2001:db8::7, 198.51.100.9")) == "198.51.100.9"


def test_edge_cases(settings) -> None:
    settings.SALESFLOW_TRUSTED_PROXIES = "10.0.0.0/8, ::1"  # the environment's comma-separated form
    assert client_ip(meta("10.0.0.5")) == "10.0.0.5"  # no header
    assert client_ip(meta("10.0.0.5", "10.9.9.9, 10.8.8.8")) == "10.9.9.9"  # all trusted: leftmost
    assert client_ip(meta("10.0.0.5", "garbage, 10.8.8.8")) == "10.8.8.8"  # stops at the bad entry
    assert client_ip(meta("::1", "[2001:db8:1::9]:443")) == "2001:db8:1::9"
    assert client_ip(meta("::ffff:10.0.0.5", "198.51.100.9:5123")) == "198.51.100.9"
    assert client_ip(meta("not-an-ip", "198.51.100.9")) is None


def test_a_malformed_setting_names_the_entry(settings) -> None:
    settings.SALESFLOW_TRUSTED_PROXIES = ["10.0.0.0/8", "proxy.example"]
    with pytest.raises(ImproperlyConfigured, match=r"proxy\.example"):
        client_ip(meta("10.0.0.5", "198.51.100.9"))
