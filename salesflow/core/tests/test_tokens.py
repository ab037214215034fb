"""API tokens: hashed storage, the createtoken/createuser commands and the tokens page."""

from __future__ import annotations

import hashlib

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

pytestmark = pytest.mark.django_db


def ApiToken():  # the model, looked up without importing the users app (import layers)
    return apps.get_model("users", "ApiToken")


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _api_me(raw: str):
    return Client(headers={"authorization": f"Bearer {raw}"}).get("/api/v1/me")


def _assert_not_stored(raw: str) -> None:
    for row in ApiToken().objects.values():
        assert raw not in [str(value) for value in row.values()]


def test_createtoken_prints_a_working_token_that_is_stored_hashed(personas, capsys):
    call_command("createtoken", "rep", "--name", "ERP sync")
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("sf_") and len(raw) > 40
    token = ApiToken().objects.get()
    assert (token.user, token.name, token.token_hash, token.token_prefix) == (
        personas.rep,
        "ERP sync",
        _sha256(raw),
        raw[:10],
    )
    _assert_not_stored(raw)
    response = _api_me(raw)
    assert response.status_code == 200
    assert response.json()["username"] == "rep"


def test_createtoken_tokens_are_unique(personas, capsys):
    call_command("createtoken", "rep")
    call_command("createtoken", "rep")
    first, second = capsys.readouterr().out.split()
    assert first != second
    assert ApiToken().objects.filter(user=personas.rep).count() == 2


def test_createtoken_refuses_unknown_or_inactive_users(personas):
    with pytest.raises(CommandError, match="nobody"):
        call_command("createtoken", "nobody")
    personas.teammate.is_active = False
    personas.teammate.save()
    with pytest.raises(CommandError, match="teammate"):
        call_command("createtoken", "teammate")
    assert not ApiToken().objects.exists()


def test_createuser_creates_a_user_with_role_and_team(db, capsys):
    call_command("createuser", "liuyang", "--role", "manager", "--team", "华北一组", "--password", "Kx9!long-enough")
    assert "liuyang" in capsys.readouterr().out
    user = apps.get_model("users", "User").objects.get(username="liuyang")
    assert (user.role, user.team.name, user.is_active) == ("manager", "华北一组", True)
    assert user.check_password("Kx9!long-enough")
    assert not user.is_superuser
    # The creation is on the user's timeline.
    assert apps.get_model("core", "AuditEvent").objects.filter(verb="users.user.created", target_id=user.pk).exists()


def test_createuser_admin_role_gets_admin_rights(db):
    call_command("createuser", "boss", "--role", "admin", "--password", "Kx9!long-enough")
    user = apps.get_model("users", "User").objects.get(username="boss")
    assert user.is_superuser and user.is_staff and user.team is None


def test_createuser_refuses_a_duplicate_with_a_clear_error(personas):
    User = apps.get_model("users", "User")
    before = User.objects.count()
    with translation.override("en"), pytest.raises(CommandError, match="already exists"):
        call_command("createuser", "REP", "--role", "rep", "--password", "Kx9!long-enough")
    assert User.objects.count() == before


def test_createuser_refuses_weak_passwords_and_unknown_roles(db):
    with translation.override("en"), pytest.raises(CommandError, match="password"):
        call_command("createuser", "weak", "--password", "123")
    with pytest.raises(CommandError):
        call_command("createuser", "x", "--role", "emperor", "--password", "Kx9!long-enough")
    assert not apps.get_model("users", "User").objects.exists()


# ---------------------------------------------------------------- the tokens page


def test_tokens_page_shows_a_new_token_once(personas, client_for):
    client = client_for(personas.rep)
    response = client.post("/settings/tokens/", {"name": "my script"})
    assert response.status_code == 200
    token = ApiToken().objects.get(user=personas.rep)
    raw = response.context["raw_token"]
    assert raw and raw.encode() in response.content
    assert token.token_hash == _sha256(raw) and token.name == "my script"
    _assert_not_stored(raw)
    assert _api_me(raw).status_code == 200

    again = client.get("/settings/tokens/")
    assert raw.encode() not in again.content
    assert b"my script" in again.content and token.token_prefix.encode() in again.content


def test_tokens_page_requires_a_name(personas, client_for):
    response = client_for(personas.rep).post("/settings/tokens/", {"name": "  "})
    assert response.status_code == 200
    assert response.context["raw_token"] is None
    assert response.context["form"].errors["name"]
    assert not ApiToken().objects.exists()


def test_tokens_page_lists_only_own_tokens(personas, client_for, capsys):
    call_command("createtoken", "teammate", "--name", "teammate secret")
    response = client_for(personas.rep).get("/settings/tokens/")
    assert response.status_code == 200
    assert list(response.context["tokens"]) == []
    assert b"teammate secret" not in response.content


def test_revoking_own_token(personas, client_for, capsys):
    call_command("createtoken", "rep", "--name", "old")
    raw = capsys.readouterr().out.strip()
    token = ApiToken().objects.get()
    response = client_for(personas.rep).post(f"/settings/tokens/{token.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/settings/tokens/"
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert _api_me(raw).status_code == 401


def test_revoking_another_users_token_is_404_and_changes_nothing(personas, client_for, capsys):
    call_command("createtoken", "teammate", "--name", "theirs")
    raw = capsys.readouterr().out.strip()
    token = ApiToken().objects.get()
    for user in (personas.rep, personas.manager):
        response = client_for(user).post(f"/settings/tokens/{token.pk}/revoke/")
        assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert _api_me(raw).status_code == 200


def test_revoke_needs_post_and_login(personas, client_for, capsys):
    call_command("createtoken", "rep")
    token = ApiToken().objects.get()
    response = client_for(personas.rep).get(f"/settings/tokens/{token.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/settings/tokens/"  # nothing revoked
    anonymous = Client().post(f"/settings/tokens/{token.pk}/revoke/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    token.refresh_from_db()
    assert token.revoked_at is None
