"""Group robots against a real local HTTP server: exact JSON bodies, DingTalk and Feishu
signatures, the address policy (on save and again at send time), retries, idempotence."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ValidationError

from salesflow.leads.services import lead_create
from salesflow.notifications.kinds import LEAD_ASSIGNED, RECORD_SHARED
from salesflow.notifications.models import Delivery, Notification, RobotChannel
from salesflow.notifications.transports import (
    UnsafeWebhook,
    dingtalk_sign,
    feishu_sign,
    resolve_webhook,
    send_to_robot,
)
from salesflow.parties.choices import SourceChannel

pytestmark = pytest.mark.django_db


class FakeRobot:
    """A webhook server on 127.0.0.1 that records each request and answers ``reply``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                robot.requests.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "host": self.headers.get("Host"),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                payload = json.dumps(robot.reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_robot() -> Iterator[FakeRobot]:
    robot = FakeRobot()
    yield robot
    robot.close()


def _channel(url: str, provider: str, *, secret: str = "", **fields: Any) -> RobotChannel:
    # 127.0.0.1 over http is refused unless an administrator allowed the host: allowed here.
    fields.setdefault("allow_host", True)
    channel = RobotChannel(name="销售群", provider=provider, webhook_url=url, secret=secret, **fields)
    channel.full_clean()
    channel.save()
    return channel


def test_dingtalk_signed_message_reaches_the_server_exactly(fake_robot):
    secret = "SEC0123456789abcdef"
    channel = _channel(fake_robot.url("/robot/send?access_token=tok"), "dingtalk", secret=secret)
    send_to_robot(
        channel, text="王经理 将线索“王芳”分配给了你。", url="https://crm.example.com/leads/1/", now=1764662400.123
    )
    [request] = fake_robot.requests
    parts = urlsplit(request["path"])
    query = parse_qs(parts.query)
    assert parts.path == "/robot/send"
    assert query["access_token"] == ["tok"]
    assert query["timestamp"] == ["1764662400123"]
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"1764662400123\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected] == [dingtalk_sign(secret, 1764662400123)]
    assert request["body"] == {
        "msgtype": "text",
        "text": {"content": "王经理 将线索“王芳”分配给了你。\nhttps://crm.example.com/leads/1/"},
    }
    assert request["content_type"] == "application/json; charset=utf-8"
    assert request["host"] == f"127.0.0.1:{fake_robot.port}"


def test_wecom_message_body(fake_robot):
    channel = _channel(fake_robot.url("/cgi-bin/webhook/send?key=abc"), "wecom")
    send_to_robot(channel, text="你好", url="")
    assert fake_robot.requests[0]["path"] == "/cgi-bin/webhook/send?key=abc"
    assert fake_robot.requests[0]["body"] == {"msgtype": "text", "text": {"content": "你好"}}


def test_feishu_message_body_with_and_without_signature(fake_robot):
    fake_robot.reply = {"code": 0, "msg": "success"}
    plain = _channel(fake_robot.url("/open-apis/bot/v2/hook/h1"), "feishu")
    send_to_robot(plain, text="你好", url="https://crm.example.com/")
    signed = _channel(fake_robot.url("/open-apis/bot/v2/hook/h2"), "feishu", secret="fs-secret")
    send_to_robot(signed, text="你好", now=1764662400.9)
    assert fake_robot.requests[0]["body"] == {"msg_type": "text", "content": {"text": "你好\nhttps://crm.example.com/"}}
    expected = base64.b64encode(hmac.new(b"1764662400\nfs-secret", b"", hashlib.sha256).digest()).decode()
    assert fake_robot.requests[1]["body"] == {
        "timestamp": "1764662400",
        "sign": expected,
        "msg_type": "text",
        "content": {"text": "你好"},
    }
    assert feishu_sign("fs-secret", 1764662400) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://8.8.8.8/robot",  # plain http
        "https://127.0.0.1/robot",  # loopback
        "https://10.1.2.3/robot",  # private
        "https://169.254.169.254/latest",  # link-local (cloud metadata)
        "https://[::1]/robot",
        "https://localhost/robot",
        "ftp://8.8.8.8/robot",
        "https:///robot",
    ],
)
def test_unsafe_webhooks_are_refused_on_save(url):
    with pytest.raises(UnsafeWebhook):
        resolve_webhook(url, allow_host=False)
    channel = RobotChannel(name="x", provider="wecom", webhook_url=url, kinds=[LEAD_ASSIGNED])
    with pytest.raises(ValidationError) as exc:
        channel.full_clean()
    assert "webhook_url" in exc.value.message_dict


def test_public_https_and_admin_allowed_hosts_pass(settings):
    assert resolve_webhook("https://8.8.8.8/robot", allow_host=False)[3] == "8.8.8.8"
    assert resolve_webhook("http://127.0.0.1:9/robot", allow_host=True)[3] == "127.0.0.1"
    settings.SALESFLOW_ROBOT_ALLOWED_HOSTS = ["127.0.0.1"]
    assert resolve_webhook("http://127.0.0.1:9/robot", allow_host=False)[1] == "127.0.0.1"
    with pytest.raises(ValidationError):
        RobotChannel(name="x", provider="wecom", webhook_url="https://8.8.8.8/", kinds=["nope"]).full_clean()


def test_the_address_is_checked_again_at_send_time(fake_robot, monkeypatch):
    """DNS rebinding: the name resolved to a public address on save, to loopback later."""
    answer = {"address": "93.184.215.14"}  # what the name resolves to: public at first

    def resolver(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer["address"], port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    channel = _channel("https://robot.example.com/send", "wecom", allow_host=False, kinds=[LEAD_ASSIGNED])
    answer["address"] = "127.0.0.1"  # … and loopback when it is time to send
    with pytest.raises(UnsafeWebhook):
        send_to_robot(channel, text="x")
    assert fake_robot.requests == []


def test_assignment_reaches_the_team_robot_once_through_the_worker(personas, committed, fake_robot):
    secret = "SECabc"
    _channel(
        fake_robot.url("/robot/send?access_token=t"),
        "dingtalk",
        secret=secret,
        team=personas.team_a,
        kinds=[LEAD_ASSIGNED],
    )
    _channel(fake_robot.url("/other-team"), "wecom", team=personas.team_b, kinds=[LEAD_ASSIGNED])
    _channel(fake_robot.url("/shares-only"), "wecom", kinds=[RECORD_SHARED])
    with committed():
        lead = lead_create(
            actor=personas.manager,
            owner=personas.rep,
            name="王芳",
            source_channel=SourceChannel.INBOUND,
            mobile="13812345678",
        )
    [request] = fake_robot.requests
    query = parse_qs(urlsplit(request["path"]).query)
    assert query["sign"] == [dingtalk_sign(secret, int(query["timestamp"][0]))]
    assert request["body"] == {
        "msgtype": "text",
        "text": {"content": f"王经理 将线索“王芳”分配给了你。\nhttp://127.0.0.1:8000/leads/{lead.pk}/"},
    }
    robot_delivery = Delivery.objects.get(channel__startswith="robot:")
    assert (robot_delivery.status, robot_delivery.attempts) == ("sent", 1)
    # the same delivery again (a duplicate enqueue) sends nothing
    from salesflow.notifications.tasks import deliver_robot

    with committed():
        deliver_robot.enqueue(robot_delivery.pk)
    assert len(fake_robot.requests) == 1


def test_a_robot_error_is_retried(personas, committed, fake_robot):
    fake_robot.reply = {"errcode": 310000, "errmsg": "sign not match"}
    _channel(fake_robot.url("/robot/send"), "dingtalk", secret="S", kinds=[LEAD_ASSIGNED])
    with committed():
        lead_create(
            actor=personas.manager,
            owner=personas.rep,
            name="王芳",
            source_channel=SourceChannel.INBOUND,
            mobile="13812345678",
        )
    delivery = Delivery.objects.get(channel__startswith="robot:")
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error == "dingtalk error 310000: sign not match"
    assert Notification.objects.count() == 1


def test_robot_preference_off_skips_the_robot(personas, committed, fake_robot):
    from salesflow.notifications.services import notification_preferences_set

    notification_preferences_set(actor=personas.rep, user=personas.rep, changes={(LEAD_ASSIGNED, "robot"): False})
    _channel(fake_robot.url("/robot/send"), "wecom", kinds=[LEAD_ASSIGNED])
    with committed():
        lead_create(
            actor=personas.manager,
            owner=personas.rep,
            name="王芳",
            source_channel=SourceChannel.INBOUND,
            mobile="13812345678",
        )
    assert fake_robot.requests == []
    assert not Delivery.objects.filter(channel__startswith="robot:").exists()


def test_the_connection_goes_to_the_checked_address_with_the_host_name_kept(fake_robot, monkeypatch):
    real = socket.getaddrinfo

    def resolver(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host == "robot.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    channel = _channel(f"http://robot.test:{fake_robot.port}/hook", "wecom")
    send_to_robot(channel, text="hi")
    assert fake_robot.requests[0]["host"] == f"robot.test:{fake_robot.port}"


def test_admin_refuses_a_private_webhook_unless_the_host_is_allowed(personas, client_for):
    client = client_for(personas.admin)
    data = {
        "name": "销售群",
        "provider": "dingtalk",
        "webhook_url": "https://10.0.0.8/robot/send?access_token=t",
        "secret": "",
        "team": "",
        "kinds": [LEAD_ASSIGNED],
        "is_active": "on",
    }
    response = client.post("/admin/notifications/robotchannel/add/", data)
    assert response.status_code == 200
    assert "private or internal address" in response.content.decode()
    assert RobotChannel.objects.count() == 0
    response = client.post("/admin/notifications/robotchannel/add/", {**data, "allow_host": "on"})
    assert response.status_code == 302
    assert RobotChannel.objects.get().kinds == [LEAD_ASSIGNED]
    assert client_for(personas.manager).get("/admin/notifications/robotchannel/").status_code in (302, 403)
