"""Group robots: one small transport per provider behind one interface (healthchecks-style).

``send_to_robot(channel, text=…, url=…)`` builds the provider's JSON body (and signature),
checks the webhook address again at send time and POSTs it. Webhooks must be https on a
public address: a name that resolves to a private, loopback, link-local or otherwise
non-global address is refused unless an administrator allowed the host (the channel's
``allow_host`` or ``SALESFLOW_ROBOT_ALLOWED_HOSTS``). The check runs on save (``clean``) and
again before each send, and the connection goes to the very address that was checked
(the host name is kept for TLS SNI, certificate checking and the Host header), so a DNS
answer that changes between check and connect (DNS rebinding) cannot reach an inside host.
Redirects are not followed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import time
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from salesflow.notifications.models import RobotChannel

TIMEOUT = 10


class RobotError(Exception):
    """Sending failed (refused address, network, HTTP or provider error); retried later."""


class UnsafeWebhook(RobotError):
    """The webhook URL is not allowed (scheme, address)."""


def host_allowed(host: str, *, allow_host: bool) -> bool:
    allowed = {h.strip().lower() for h in getattr(settings, "SALESFLOW_ROBOT_ALLOWED_HOSTS", [])}
    return allow_host or host.lower() in allowed


def resolve_webhook(url: str, *, allow_host: bool) -> tuple[str, str, int, str]:
    """Check ``url`` and resolve it: ``(scheme, host, port, address to connect to)``.

    Raises ``UnsafeWebhook`` for a scheme other than https, a missing host, a name that does
    not resolve, or any resolved address that is not global — unless the host is allowed.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise UnsafeWebhook(_("The webhook URL has no host."))
    allowed = host_allowed(host, allow_host=allow_host)
    if parts.scheme != "https" and not (allowed and parts.scheme == "http"):
        raise UnsafeWebhook(_("The webhook URL must start with https://."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeWebhook(_("The webhook URL has an invalid port.")) from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeWebhook(_("The webhook host %(host)s could not be resolved.") % {"host": host}) from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UnsafeWebhook(_("The webhook host %(host)s could not be resolved.") % {"host": host})
    if not allowed:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global or ip.is_multicast:
                raise UnsafeWebhook(
                    _("The webhook host %(host)s resolves to a private or internal address (%(address)s).")
                    % {"host": host, "address": address}
                )
    return parts.scheme, host, port, addresses[0]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a fixed, already checked address, with SNI and certificate check for ``host``."""

    def __init__(self, host: str, port: int, address: str, **kwargs: Any) -> None:
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def post_json(url: str, body: dict[str, Any], *, allow_host: bool) -> dict[str, Any]:
    """POST ``body`` as JSON to ``url`` after checking it; return the JSON answer."""
    scheme, host, port, address = resolve_webhook(url, allow_host=allow_host)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    conn = conn_class(host, port, address, timeout=TIMEOUT)
    payload = json.dumps(body, ensure_ascii=False).encode()
    try:
        conn.request("POST", path, body=payload, headers={"Content-Type": "application/json; charset=utf-8"})
        response = conn.getresponse()
        raw = response.read(65536)
    except (OSError, http.client.HTTPException) as exc:
        raise RobotError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()
    if response.status != 200:
        raise RobotError(f"HTTP {response.status}")
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        raise RobotError("the robot did not answer JSON") from None
    return answer if isinstance(answer, dict) else {}


class Transport:
    """One provider: builds the request and reads the answer."""

    provider: ClassVar[str]

    def __init__(self, channel: RobotChannel) -> None:
        self.channel = channel

    def message(self, text: str, url: str) -> str:
        return f"{text}\n{url}" if url else text

    def request(self, text: str, url: str, now: float) -> tuple[str, dict[str, Any]]:
        """``(webhook URL to call, JSON body)``."""
        raise NotImplementedError

    def check(self, answer: dict[str, Any]) -> None:
        if answer.get("errcode", 0) != 0:
            raise RobotError(f"{self.provider} error {answer.get('errcode')}: {answer.get('errmsg', '')}")

    def send(self, text: str, url: str = "", *, now: float | None = None) -> None:
        webhook, body = self.request(text, url, time.time() if now is None else now)
        self.check(post_json(webhook, body, allow_host=self.channel.allow_host))


class WeComTransport(Transport):
    """企业微信群机器人: ``{"msgtype": "text", "text": {"content": …}}``; answers errcode 0."""

    provider = "wecom"

    def request(self, text: str, url: str, now: float) -> tuple[str, dict[str, Any]]:
        return self.channel.webhook_url, {"msgtype": "text", "text": {"content": self.message(text, url)}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}"))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalkTransport(Transport):
    """钉钉群机器人; with a secret, ``timestamp`` (ms) and ``sign`` query parameters are added."""

    provider = "dingtalk"

    def request(self, text: str, url: str, now: float) -> tuple[str, dict[str, Any]]:
        webhook = self.channel.webhook_url
        if self.channel.secret:
            timestamp = int(now * 1000)
            query = urlencode({"timestamp": timestamp, "sign": dingtalk_sign(self.channel.secret, timestamp)})
            webhook = f"{webhook}{'&' if '?' in webhook else '?'}{query}"
        return webhook, {"msgtype": "text", "text": {"content": self.message(text, url)}}


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg=""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class FeishuTransport(Transport):
    """飞书群机器人: ``{"msg_type": "text", "content": {"text": …}}`` (+ timestamp and sign)."""

    provider = "feishu"

    def request(self, text: str, url: str, now: float) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": self.message(text, url)}}
        if self.channel.secret:
            timestamp = int(now)
            body = {"timestamp": str(timestamp), "sign": feishu_sign(self.channel.secret, timestamp), **body}
        return self.channel.webhook_url, body

    def check(self, answer: dict[str, Any]) -> None:
        code = answer.get("code", answer.get("StatusCode", 0))
        if code != 0:
            raise RobotError(f"feishu error {code}: {answer.get('msg', answer.get('StatusMessage', ''))}")


TRANSPORTS: dict[str, type[Transport]] = {t.provider: t for t in (WeComTransport, DingTalkTransport, FeishuTransport)}


def send_to_robot(channel: RobotChannel, *, text: str, url: str = "", now: float | None = None) -> None:
    """Post ``text`` (and a link) to ``channel``; raises ``RobotError`` on any failure."""
    transport = TRANSPORTS.get(channel.provider)
    if transport is None:
        raise RobotError(f"unknown robot provider {channel.provider!r}")
    transport(channel).send(text, url, now=now)
