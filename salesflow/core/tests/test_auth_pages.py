"""Login, logout and password change through the real pages; every page needs a login."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "Old-pass-2026!"


@pytest.fixture
def rep(personas):
    personas.rep.set_password(PASSWORD)
    personas.rep.save()
    return personas.rep


def _client() -> Client:
    client = Client(headers={"accept-language": "en"})
    client.cookies["django_language"] = "en"
    return client


def test_login_page_is_public_and_has_the_form(db):
    response = _client().get("/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password"' in response.content


@pytest.mark.parametrize("path", ["/", "/settings/tokens/", "/password/", "/leads/", "/opportunities/board/"])
def test_pages_redirect_anonymous_users_to_login(db, path):
    response = _client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_wrong_password_stays_on_the_login_page(rep):
    client = _client()
    response = client.post("/login/", {"username": "rep", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_login_then_logout(rep):
    client = _client()
    response = client.post("/login/", {"username": "rep", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(rep.pk)
    assert client.get("/settings/tokens/").status_code == 200

    # logging out needs a POST (CSRF-protected): a GET redirects home, still signed in
    response = client.get("/logout/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(rep.pk)
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert client.get("/settings/tokens/").status_code == 302


def test_login_follows_next_but_not_to_other_sites(rep):
    client = _client()
    response = client.post(
        "/login/?next=/settings/tokens/", {"username": "rep", "password": PASSWORD, "next": "/settings/tokens/"}
    )
    assert response["Location"] == "/settings/tokens/"
    client = _client()
    response = client.post("/login/", {"username": "rep", "password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_inactive_users_cannot_log_in(rep):
    rep.is_active = False
    rep.save()
    client = _client()
    assert client.post("/login/", {"username": "rep", "password": PASSWORD}).status_code == 200
    assert "_auth_user_id" not in client.session


def test_password_change(rep):
    client = _client()
    client.force_login(rep)
    assert client.get("/password/").status_code == 200

    refused = client.post(
        "/password/", {"old_password": "wrong", "new_password1": "New-pass-2026!", "new_password2": "New-pass-2026!"}
    )
    assert refused.status_code == 200 and refused.context["form"].errors["old_password"]
    rep.refresh_from_db()
    assert rep.check_password(PASSWORD)

    too_short = client.post("/password/", {"old_password": PASSWORD, "new_password1": "abc", "new_password2": "abc"})
    assert too_short.status_code == 200 and too_short.context["form"].errors["new_password2"]

    done = client.post(
        "/password/", {"old_password": PASSWORD, "new_password1": "New-pass-2026!", "new_password2": "New-pass-2026!"}
    )
    assert done.status_code == 302 and done["Location"] == "/password/done/"
    assert client.get("/password/done/").status_code == 200  # the session survives the change
    rep.refresh_from_db()
    assert rep.check_password("New-pass-2026!")
    assert _client().login(username="rep", password="New-pass-2026!")


def test_language_switch_sets_the_cookie_and_the_page_language(rep):
    client = _client()
    client.force_login(rep)
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/settings/tokens/"})
    assert response.status_code == 302 and response["Location"] == "/settings/tokens/"
    assert client.cookies["django_language"].value == "zh-hans"
    page = client.get("/settings/tokens/")
    assert b'<html lang="zh-hans">' in page.content
    client.post("/i18n/setlang/", {"language": "en", "next": "/settings/tokens/"})
    assert b'<html lang="en">' in client.get("/settings/tokens/").content
