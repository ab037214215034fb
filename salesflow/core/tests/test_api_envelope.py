"""The API's one error envelope: {"detail", "code", "errors"} for 401, 404 and 400."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db


def _token_for(username: str, capsys: Any) -> str:
    call_command("createtoken", username, "--name", "envelope test")
    return str(capsys.readouterr().out.strip())


def _get(path: str, token: str | None = None):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return Client(headers={**headers, "accept-language": "en"}).get(path)


def _assert_envelope(response: Any, status: int, code: str) -> Any:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "code", "errors"}
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_no_token_is_401(personas):
    body = _assert_envelope(_get("/api/v1/me"), 401, "unauthorized")
    assert body == {"detail": "Authentication required: send a valid API token.", "code": "unauthorized", "errors": {}}


@pytest.mark.parametrize("header", ["Bearer sf_not-a-real-token", "Token abc", "Bearer", "Basic cmVwOnB3"])
def test_bad_credentials_are_401(personas, header):
    response = Client(headers={"authorization": header}).get("/api/v1/me")
    _assert_envelope(response, 401, "unauthorized")


def test_revoked_token_is_401(personas, capsys):
    raw = _token_for("rep", capsys)
    assert _get("/api/v1/me", raw).status_code == 200
    ApiToken = apps.get_model("users", "ApiToken")
    ApiToken.objects.filter(token_hash=hashlib.sha256(raw.encode()).hexdigest()).update(revoked_at=timezone.now())
    _assert_envelope(_get("/api/v1/me", raw), 401, "unauthorized")


def test_token_of_deactivated_user_is_401(personas, capsys):
    raw = _token_for("rep", capsys)
    personas.rep.is_active = False
    personas.rep.save()
    _assert_envelope(_get("/api/v1/me", raw), 401, "unauthorized")


def test_token_use_is_recorded(personas, capsys):
    raw = _token_for("rep", capsys)
    ApiToken = apps.get_model("users", "ApiToken")
    assert ApiToken.objects.get().last_used_at is None
    assert _get("/api/v1/me", raw).json()["username"] == "rep"
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.parametrize("path", ["/api/v1/leads/999999999", "/api/v1/opportunities/999999999"])
def test_unknown_record_is_404_envelope(personas, api_for, path):
    body = _assert_envelope(api_for(personas.rep).get(path.removeprefix("/api/v1")), 404, "not_found")
    assert body["errors"] == {}


def test_invalid_body_is_400_with_field_errors(personas, api_for):
    response = api_for(personas.rep).post("/activities/", {"subject": 12, "due_at": "not a date"})
    body = _assert_envelope(response, 400, "validation_error")
    assert body["errors"], "per-field errors are listed"
    assert all(isinstance(messages, list) and messages for messages in body["errors"].values())


def test_openapi_document_and_docs_are_public(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Salesflow API"
    assert "/api/v1/me" in document["paths"]
    assert Client().get("/api/v1/docs").status_code == 200
