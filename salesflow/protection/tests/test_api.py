"""API of customer protection: known-customer bulk load and search, collisions and decisions;
hostile input (NUL bytes, huge strings, unknown fields, malformed JSON)."""

from __future__ import annotations

from typing import Any

import pytest

from salesflow.leads.tests.factories import credit_code
from salesflow.parties.models import Account
from salesflow.protection.models import Collision, KnownCustomer
from salesflow.protection.tests.factories import new_account

pytestmark = pytest.mark.django_db


def _bulk(rows: list[dict[str, Any]], source: str = "ERP") -> dict[str, Any]:
    return {"source_system": source, "rows": rows}


def test_bulk_load_is_idempotent_and_reports_rejected_rows(personas, api_for) -> None:
    api = api_for(personas.admin)
    rows = [
        {
            "company_name": "上海星河科技有限公司",
            "credit_code": credit_code(),
            "owner": "rep",
            "sales_office": "华东销售处",
        },
        {"company_name": "坏代码公司", "credit_code": "91310000123456789X"},
    ]
    first = api.post("/known-customers/bulk", _bulk(rows))
    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["created"], body["updated"], body["rejected"]) == (1, 0, 1)
    assert body["errors"] == [{"row": 2, "field": "credit_code", "reason": body["errors"][0]["reason"]}]
    again = api.post("/known-customers/bulk", _bulk(rows)).json()
    assert (again["created"], again["updated"]) == (0, 1)
    assert KnownCustomer.objects.count() == 1
    page = api.get("/known-customers", q="星河").json()
    assert page["count"] == 1 and page["items"][0]["owner_id"] == personas.rep.pk
    assert api.get(f"/known-customers/loads/{body['id']}").json()["status"] == "done"


@pytest.mark.parametrize("who", ["manager", "rep"])
def test_only_administrators_use_the_list(personas, api_for, who) -> None:
    api = api_for(getattr(personas, who))
    assert api.post("/known-customers/bulk", _bulk([{"company_name": "A公司"}])).status_code == 403
    assert api.get("/known-customers").status_code == 403
    assert not KnownCustomer.objects.exists()


@pytest.mark.parametrize(
    "payload, field",
    [
        (_bulk([{"company_name": "A\x00公司"}]), "company_name"),
        (_bulk([{"company_name": "x" * 50_000}]), "company_name"),
        (_bulk([{"company_name": "A公司", "hack": 1}]), "hack"),
        (_bulk([]), "rows"),
        ({"source_system": "ERP", "rows": "nope"}, "rows"),
        (_bulk([{"company_name": "A公司"}], source="s\x00"), "source_system"),
        ({"rows": [{"company_name": "A公司"}]}, "source_system"),
    ],
    ids=["nul", "50k", "unknown-field", "no-rows", "rows-not-list", "nul-source", "no-source"],
)
def test_bulk_refuses_hostile_input(personas, api_for, payload, field) -> None:
    response = api_for(personas.admin).post("/known-customers/bulk", payload)
    assert response.status_code == 400, response.content
    assert field in str(response.json())
    assert not KnownCustomer.objects.exists()


def test_malformed_json_is_a_400(personas, api_for) -> None:
    api = api_for(personas.admin)
    for body in ("{not json", "\x00", "[]", '{"source_system": "ERP", "rows": [' + "1," * 1000 + "1]}"):
        response = api.client.post("/api/v1/known-customers/bulk", body, content_type="application/json")
        assert response.status_code == 400, (body[:20], response.content)
    collision = _collision(personas)
    response = api.client.post(f"/api/v1/collisions/{collision.pk}/decide", "{oops", content_type="application/json")
    assert response.status_code == 400


def _collision(personas) -> Collision:
    new_account(personas.teammate, personas.teammate, "上海星河科技有限公司")
    new = new_account(personas.rep, personas.rep, "上海星河科技")
    return Collision.objects.get(new_id=new.pk)


def test_collisions_list_and_decide(personas, api_for) -> None:
    collision = _collision(personas)
    manager = api_for(personas.manager)
    page = manager.get("/collisions", scope="decide").json()
    assert [c["id"] for c in page["items"]] == [collision.pk] and page["items"][0]["may_decide"]
    mine = api_for(personas.rep).get("/collisions", scope="mine").json()
    assert mine["count"] == 1 and not mine["items"][0]["may_decide"]
    assert api_for(personas.outsider).get("/collisions").json()["count"] == 0
    response = manager.post(f"/collisions/{collision.pk}/decide", {"decision": "transfer", "direction": "to_holder"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "decided" and response.json()["decision"] == "transfer"
    assert Account.objects.get(pk=collision.new_id).owner == personas.teammate
    assert manager.post(f"/collisions/{collision.pk}/decide", {"decision": "keep"}).status_code == 409


@pytest.mark.parametrize("who, status", [("rep", 403), ("teammate", 403), ("outsider", 404), ("other_manager", 404)])
def test_only_the_right_manager_decides(personas, api_for, who, status) -> None:
    collision = _collision(personas)
    response = api_for(getattr(personas, who)).post(f"/collisions/{collision.pk}/decide", {"decision": "keep"})
    assert response.status_code == status
    collision.refresh_from_db()
    assert collision.status == "open"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"decision": "nuke"}, "decision"),
        ({"decision": "keep", "note": "a\x00b"}, "note"),
        ({"decision": "keep", "note": "x" * 50_000}, "note"),
        ({"decision": "keep", "owner_id": 1}, "owner_id"),
        ({"decision": "transfer"}, "direction"),
    ],
    ids=["bad-decision", "nul", "50k", "unknown", "no-direction"],
)
def test_decide_refuses_hostile_input(personas, api_for, payload, field) -> None:
    collision = _collision(personas)
    response = api_for(personas.manager).post(f"/collisions/{collision.pk}/decide", payload)
    assert response.status_code == 400, response.content
    assert field in str(response.json())
    collision.refresh_from_db()
    assert collision.status == "open"


def test_unknown_ids_are_404(personas, api_for) -> None:
    api = api_for(personas.admin)
    assert api.get("/collisions/999999").status_code == 404
    assert api.post("/collisions/99999999999999999999/decide", {"decision": "keep"}).status_code == 404
    assert api.get("/known-customers/loads/999999").status_code == 404
