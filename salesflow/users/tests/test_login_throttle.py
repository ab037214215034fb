"""Repeated failed sign-ins lock the username (and the address) on /login/ and /admin/login/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from salesflow.core.models import AuditEvent
from salesflow.users.models import LoginThrottle
from salesflow.users.testing import PASSWORD

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-in attempts"


def _client(address: str = "10.0.0.1") -> Client:
    return Client(headers={"accept-language": "en"}, REMOTE_ADDR=address)


def _login(client: Client, username: str, password: str, path: str = "/login/"):
    return client.post(path, {"username": username, "password": password})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_five_failures_lock_the_username_and_the_right_password_is_refused(personas, settings, path):
    settings.SALESFLOW_LOGIN_FAILURE_LIMIT = 5
    user = personas.admin if path.startswith("/admin") else personas.rep
    client = _client()
    for _attempt in range(4):
        response = _login(client, user.username, "wrong", path)
        assert response.status_code == 200 and LOCKED not in response.content.decode()
    response = _login(client, user.username, "wrong", path)
    assert LOCKED in response.content.decode()
    response = _login(client, user.username, PASSWORD, path)
    assert response.status_code == 200 and LOCKED in response.content.decode()
    assert not _signed_in(client)
    # another address is refused as well: the lock is on the username
    other = _client("10.9.9.9")
    assert LOCKED in _login(other, user.username.upper(), PASSWORD, path).content.decode()
    assert not _signed_in(other)
    event = AuditEvent.objects.get(verb="users.login.locked")
    assert event.data["failures"] == 5


def test_lock_expires_and_then_the_right_password_works(personas, settings):
    settings.SALESFLOW_LOGIN_FAILURE_LIMIT = 3
    client = _client()
    for _attempt in range(3):
        _login(client, "rep", "wrong")
    assert LOCKED in _login(client, "rep", PASSWORD).content.decode()
    LoginThrottle.objects.filter(scope="username", key="rep").update(locked_until=timezone.now() - timedelta(seconds=1))
    response = _login(client, "rep", PASSWORD)
    assert response.status_code == 302 and _signed_in(client)
    assert not LoginThrottle.objects.filter(scope="username", key="rep").exists()


def test_failures_outside_the_window_do_not_add_up(personas, settings):
    settings.SALESFLOW_LOGIN_FAILURE_LIMIT = 3
    client = _client()
    _login(client, "rep", "wrong")
    _login(client, "rep", "wrong")
    LoginThrottle.objects.update(window_started_at=timezone.now() - timedelta(hours=1))
    _login(client, "rep", "wrong")
    assert _login(client, "rep", PASSWORD).status_code == 302


def test_a_success_clears_the_username_count(personas, settings):
    settings.SALESFLOW_LOGIN_FAILURE_LIMIT = 3
    client = _client()
    _login(client, "rep", "wrong")
    _login(client, "rep", "wrong")
    assert _login(client, "rep", PASSWORD).status_code == 302
    client = _client()
    _login(client, "rep", "wrong")
    _login(client, "rep", "wrong")
    assert _login(client, "rep", PASSWORD).status_code == 302


def test_a_post_without_password_does_not_reset_the_count(personas, settings):
    settings.SALESFLOW_LOGIN_FAILURE_LIMIT = 3
    client = _client()
    _login(client, "rep", "wrong")
    _login(client, "rep", "wrong")
    client.post("/login/", {"username": "rep"})
    _login(client, "rep", "wrong")
    assert LOCKED in _login(client, "rep", PASSWORD).content.decode()


def test_one_address_guessing_many_usernames_is_locked(personas, settings):
    settings.SALESFLOW_LOGIN_FAILURE_LIMIT = 100
    settings.SALESFLOW_LOGIN_ADDRESS_FAILURE_LIMIT = 6
    attacker = _client("203.0.113.7")
    for n in range(6):
        _login(attacker, f"guess{n}", "wrong")
    assert LOCKED in _login(attacker, "rep", PASSWORD).content.decode()
    assert not _signed_in(attacker)
    # the user from elsewhere is not affected
    assert _login(_client("198.51.100.1"), "rep", PASSWORD).status_code == 302


def test_behind_a_trusted_proxy_each_client_is_counted_and_the_header_cannot_be_forged(personas, settings):
    """With the proxy listed in SALESFLOW_TRUSTED_PROXIES the address limit counts the
    client the proxy reports, not the proxy; a client talking to the server directly
    cannot choose its address with X-Forwarded-For."""
    settings.SALESFLOW_LOGIN_FAILURE_LIMIT = 100
    settings.SALESFLOW_LOGIN_ADDRESS_FAILURE_LIMIT = 3
    settings.SALESFLOW_TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = Client(headers={"accept-language": "en"}, REMOTE_ADDR="10.0.0.5")
    for n in range(3):
        proxy.post(
            "/login/", {"username": f"guess{n}", "password": "wrong"}, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7"
        )
    addresses = set(LoginThrottle.objects.filter(scope="address").values_list("key", flat=True))
    assert addresses == {"203.0.113.7"}
    # another client behind the same proxy signs in
    other = Client(headers={"accept-language": "en"}, REMOTE_ADDR="10.0.0.5")
    assert (
        other.post(
            "/login/", {"username": "rep", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.9"
        ).status_code
        == 302
    )
    # the locked client is refused through the proxy
    locked = proxy.post("/login/", {"username": "rep", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert LOCKED in locked.content.decode()
    # a direct client's header is ignored: counted under its own address
    direct = Client(headers={"accept-language": "en"}, REMOTE_ADDR="192.0.2.44")
    direct.post("/login/", {"username": "guess9", "password": "wrong"}, HTTP_X_FORWARDED_FOR="203.0.113.99")
    addresses = set(LoginThrottle.objects.filter(scope="address").values_list("key", flat=True))
    assert addresses == {"203.0.113.7", "192.0.2.44"}


def test_limits_can_be_switched_off(personas, settings):
    settings.SALESFLOW_LOGIN_FAILURE_LIMIT = 0
    settings.SALESFLOW_LOGIN_ADDRESS_FAILURE_LIMIT = 0
    client = _client()
    for _attempt in range(10):
        _login(client, "rep", "wrong")
    assert _login(client, "rep", PASSWORD).status_code == 302
    assert not LoginThrottle.objects.exists()


def test_the_lock_message_is_translated(personas, settings):
    settings.SALESFLOW_LOGIN_FAILURE_LIMIT = 1
    client = Client(headers={"accept-language": "zh-hans"}, REMOTE_ADDR="10.0.0.1")
    client.cookies["django_language"] = "zh-hans"
    response = client.post("/login/", {"username": "rep", "password": "wrong"})
    assert "登录失败次数过多" in response.content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_failures_are_all_counted(settings):
    """Several server processes (here: threads with their own connections) counting failures
    for one username at once lose none of them."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection, connections

    from salesflow.users.services import login_failure_record

    if connection.vendor != "postgresql":
        pytest.skip("needs a database shared by several connections (PostgreSQL)")
    settings.SALESFLOW_LOGIN_FAILURE_LIMIT = 1000
    settings.SALESFLOW_LOGIN_ADDRESS_FAILURE_LIMIT = 1000

    def fail(n: int) -> None:
        try:
            login_failure_record(username="rep", address=f"10.0.0.{n % 3}")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(fail, range(24)))
    assert LoginThrottle.objects.get(scope="username", key="rep").failures == 24
    assert sum(LoginThrottle.objects.filter(scope="address").values_list("failures", flat=True)) == 24
