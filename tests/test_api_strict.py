"""Strict API input: one envelope for every error, unknown fields, control characters, caps."""

from __future__ import annotations

from typing import Any

import pytest

from salesflow.leads.models import Lead
from salesflow.leads.tests.factories import make_lead

pytestmark = pytest.mark.django_db


def _envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"detail", "code", "errors"} and body["code"] == code
    return body


def test_malformed_json_is_400_envelope(personas, api_for):
    client = api_for(personas.rep).client
    _envelope(client.post("/api/v1/leads", "{bad", content_type="application/json"), 400, "malformed_json")
    _envelope(client.post("/api/v1/leads", '{"name": NaN}', content_type="application/json"), 400, "malformed_json")
    assert Lead.objects.count() == 0


def test_form_body_is_415(personas, api_for):
    client = api_for(personas.rep).client
    response = client.post(
        "/api/v1/leads", "name=x&source_channel=inbound", content_type="application/x-www-form-urlencoded"
    )
    _envelope(response, 415, "unsupported_media_type")
    assert Lead.objects.count() == 0


@pytest.mark.parametrize("path", ["/api/v1/leads/abc", "/api/v1/leads/-1", "/api/v1/nothing-here", "/api/v1/leads/1/x"])
def test_unknown_paths_are_404_envelope(personas, api_for, path):
    _envelope(api_for(personas.rep).client.get(path), 404, "not_found")


def test_unknown_method_is_405_envelope(personas, api_for):
    response = api_for(personas.rep).client.put("/api/v1/leads", "{}", content_type="application/json")
    body = _envelope(response, 405, "method_not_allowed")
    assert "PUT" in body["detail"] and "POST" in response["Allow"]


def test_oversized_body_is_413_envelope(personas, api_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_for(personas.rep).post("/leads", {"name": "x" * 2000, "source_channel": "inbound"})
    _envelope(response, 413, "too_large")
    assert Lead.objects.count() == 0


def test_patch_of_read_only_status_names_the_field(personas, api_for):
    lead = make_lead(owner=personas.rep)
    before = (lead.status, lead.name)
    response = api_for(personas.rep).patch(f"/leads/{lead.pk}", {"status": "converted", "name": "new"})
    body = _envelope(response, 400, "validation_error")
    assert body["errors"] == {"status": ["Unknown or read-only field."]}
    lead.refresh_from_db()
    assert (lead.status, lead.name) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "a\x00b"), ("name", "a\x07b"), ("name", "two\nlines"), ("company_name", "\ud800"), ("notes", "x\x1bY")],
)
def test_control_characters_name_the_field(personas, api_for, field, value):
    payload = {"name": "ok", "source_channel": "inbound", "wechat": "w", field: value}
    body = _envelope(api_for(personas.rep).post("/leads", payload), 400, "validation_error")
    assert list(body["errors"]) == [field]
    assert Lead.objects.count() == 0


def test_multiline_fields_keep_newlines_and_tabs(personas, api_for):
    payload = {"name": "ok", "source_channel": "inbound", "wechat": "w", "notes": "line 1\r\n\tline 2"}
    response = api_for(personas.rep).post("/leads", payload)
    assert response.status_code == 201
    assert response.json()["notes"] == "line 1\r\n\tline 2"


def test_out_of_range_ids_are_field_errors(personas, api_for):
    payload = {"name": "ok", "source_channel": "inbound", "wechat": "w", "owner_id": 10**30}
    body = _envelope(api_for(personas.rep).post("/leads", payload), 400, "validation_error")
    assert body["errors"] == {"owner_id": ["This number is out of range."]}


@pytest.mark.parametrize("q", ["a\x00b", "x" * 201])
@pytest.mark.parametrize("path", ["/leads", "/accounts", "/contacts", "/opportunities", "/activities"])
def test_hostile_search_is_400_naming_q(personas, api_for, path, q):
    body = _envelope(api_for(personas.rep).get(path, q=q), 400, "validation_error")
    assert list(body["errors"]) == ["q"]


def test_search_at_the_cap_is_fine(personas, api_for):
    assert api_for(personas.rep).get("/leads", q="x" * 200).status_code == 200


def test_naive_datetime_is_refused(personas, api_for):
    response = api_for(personas.rep).post(
        "/activities", {"kind": "task", "subject": "s", "due_at": "2030-01-01T10:00:00"}
    )
    body = _envelope(response, 400, "validation_error")
    assert list(body["errors"]) == ["due_at"]
    ok = api_for(personas.rep).post(
        "/activities", {"kind": "task", "subject": "s", "due_at": "2030-01-01T10:00:00+08:00"}
    )
    assert ok.status_code == 201


@pytest.mark.parametrize("q", ["a\x00b", "x" * 50_000])
@pytest.mark.parametrize(
    "path", ["/leads/", "/accounts/", "/contacts/", "/opportunities/", "/activities/", "/opportunities/board/"]
)
def test_ui_lists_answer_hostile_search_with_a_clear_400(personas, client_for, path, q):
    response = client_for(personas.rep).get(path, {"q": q})
    assert response.status_code == 400
    assert "text/html" in response["Content-Type"]
    assert b"Control characters" in response.content or b"at most 200 characters" in response.content


def test_openapi_shows_strict_schemas(db):
    from django.test import Client

    document = Client().get("/api/v1/openapi.json").json()
    lead_in = document["components"]["schemas"]["LeadIn"]
    assert lead_in["additionalProperties"] is False
    assert "owner_id" in lead_in["properties"] and "owner" not in lead_in["properties"]


def test_openapi_documents_the_error_envelope_everywhere(db):
    from django.test import Client

    document = Client().get("/api/v1/openapi.json").json()
    assert document["components"]["schemas"]["Error"]["required"] == ["detail", "code", "errors"]
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for status in ("400", "401", "404"):
                assert status in operation["responses"], (path, method, status)
            if method in ("post", "patch"):
                assert {"413", "415"} <= set(operation["responses"]), (path, method)


NOT_IDS = {"limit", "offset", "probability", "position", "rotting_days"}  # numbers, not ids
NOT_IDS |= {
    "every_days",
    "grace_days",
    "position",
    "after_days_over",
}  # issue 7: follow-up rules (counts of days, ladder order)
NOT_IDS |= {"points", "window_days"}  # issue 8: score rules (points, look-back in days)
NOT_IDS |= {
    "protection_days",
    "max_count",
    "no_follow_up_days",
    "no_opportunity_days",
    "warn_days_before",
}  # issue 8: public pools (days and ownership caps)
NOT_IDS |= {"minutes", "capacity"}  # issue 8: routing (first-response SLA minutes, open leads per rep)
NOT_IDS |= {"after_days_stalled"}  # issue 7: the stall escalation ladder (days)
# issue 9: approval rules (hours), approval steps (positions), a quote's version number
NOT_IDS |= {"remind_after_hours", "escalate_after_hours", "step", "to_step", "version"}
NOT_IDS |= {"year"}  # issue 10: a sales plan's fiscal year (hidden until the plan schemas had their own names)
NOT_IDS |= {"count"}  # issue 11: how many past periods the forecast accuracy lists
NOT_IDS |= {"priority"}  # issue 9 (catalogue): price-list and discount-rule precedence (also assignment rules)
NOT_IDS |= {"ending_within_days", "from", "to"}  # issue 9 (contracts): days, version numbers of a diff
NOT_IDS |= {"renewal_reminder_days"}  # issue 9 (billing): the reminder settings' renewal days


def _is_integer(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    types = {o.get("type") for o in options}
    return "integer" in types and "string" not in types


def test_every_id_in_requests_is_named_with_id(db):
    """One naming convention, checked on the OpenAPI document so new endpoints follow it."""
    from django.test import Client

    document = Client().get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    offenders = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for param in operation.get("parameters", []):
                name = param["name"]
                if param["in"] == "query" and _is_integer(param["schema"]) and name not in NOT_IDS | {"_"}:
                    offenders += [] if name.endswith("_id") else [f"{method} {path} ?{name}"]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body and "$ref" in body:
                for name, prop in schemas[body["$ref"].rsplit("/", 1)[1]]["properties"].items():
                    if _is_integer(prop) and name not in NOT_IDS and not name.endswith("_id"):
                        offenders.append(f"{method} {path} {name}")
    assert offenders == []
