"""Orders through the real API and pages: exact outcomes, permissions per persona, hostile
input (400/403/404/409 with the field named and nothing written) and query bounds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from salesflow.attachments.samples import pdf_bytes
from salesflow.core.models import AuditEvent
from salesflow.orders.models import Delivery, Order, OrderStatus
from salesflow.orders.services import delivery_create, order_confirm, order_create_from_contract
from salesflow.orders.tests.factories import make_contract, make_quote
from salesflow.users.models import User
from salesflow.users.testing import PERSONA_NAMES, Personas, expected_denial

pytestmark = pytest.mark.django_db

Api = Callable[[User], Any]


def _lines(order: Order) -> list[Any]:
    return list(order.lines.order_by("position"))


# --- API ----------------------------------------------------------------------------------------


def test_api_create_from_contract_and_read_back(personas: Personas, api_for: Api) -> None:
    contract = make_contract(personas.rep)
    response = api_for(personas.assistant).post("/orders", {"contract_id": contract.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["contract_id"] == contract.pk and body["owner_id"] == personas.rep.pk
    assert body["total"] == "45026.25" and body["subtotal"] == "42000.00" and body["tax"] == "4901.25"
    assert [
        (ln["code"], ln["quantity"], ln["delivered_quantity"], ln["open_quantity"], ln["total"]) for ln in body["lines"]
    ] == [
        ("SRV-01", "3.000", "0.000", "3.000", "40256.25"),
        ("INST-01", "2.500", "0.000", "2.500", "4770.00"),
    ]
    again = api_for(personas.rep).post("/orders", {"contract_id": contract.pk})
    assert again.status_code == 409


def test_api_create_from_quote(personas: Personas, api_for: Api) -> None:
    quote = make_quote(personas.rep)
    response = api_for(personas.rep).post("/orders", {"quote_id": quote.pk})
    assert response.status_code == 201
    assert response.json()["quote_id"] == quote.pk and response.json()["total"] == "45026.25"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"contract_id": 1, "quote_id": 1},
        {"contract_id": "abc"},
        {"contract_id": 2**64},
        {"contract_id": 0},
        {"contract_id": True},
        {"contract_id": 1, "status": "accepted"},
    ],
)
def test_api_create_hostile_bodies(personas: Personas, api_for: Api, body: dict[str, Any]) -> None:
    response = api_for(personas.rep).post("/orders", body)
    assert response.status_code == 400, response.content
    assert Order.objects.count() == 0


def test_api_create_malformed_json(personas: Personas, api_for: Api) -> None:
    client = api_for(personas.rep).client
    response = client.post("/api/v1/orders", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert Order.objects.count() == 0


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_api_persona_matrix(personas: Personas, api_for: Api, persona: str) -> None:
    order = order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk)
    api = api_for(getattr(personas, persona))
    read = api.get(f"/orders/{order.pk}")
    denial = expected_denial(persona, write=False)
    assert read.status_code == (denial or 200)
    confirm = api.post(f"/orders/{order.pk}/confirm")
    denial = expected_denial(persona, write=True)
    assert confirm.status_code == (denial or 200)
    order.refresh_from_db()
    assert (order.status == OrderStatus.CONFIRMED) == (denial is None)
    listed = api.get("/orders").json()
    assert (order.pk in [o["id"] for o in listed["items"]]) == (expected_denial(persona, write=False) is None)


def test_api_confirmed_lines_are_frozen(personas: Personas, api_for: Api) -> None:
    order = order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk)
    api = api_for(personas.rep)
    line = _lines(order)[0]
    ok = api.patch(f"/orders/{order.pk}/lines/{line.pk}", {"quantity": "4"})
    assert ok.status_code == 200 and ok.json()["quantity"] == "4.000"
    bad = api.patch(f"/orders/{order.pk}/lines/{line.pk}", {"quantity": "1e400", "total": "1"})
    assert bad.status_code == 400 and "total" in bad.json()["errors"]
    assert api.post(f"/orders/{order.pk}/confirm").status_code == 200
    frozen = api.patch(f"/orders/{order.pk}/lines/{line.pk}", {"quantity": "1"})
    assert frozen.status_code == 409
    line.refresh_from_db()
    assert str(line.quantity) == "4.000"


def test_api_over_delivery_names_line_and_quantity(personas: Personas, api_for: Api) -> None:
    order = order_confirm(
        actor=personas.rep,
        order=order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk),
    )
    rack, install = _lines(order)
    api = api_for(personas.assistant)
    first = api.post(
        f"/orders/{order.pk}/deliveries",
        {"delivered_on": "2026-05-01", "lines": [{"order_line_id": rack.pk, "quantity": "2"}]},
    )
    assert first.status_code == 201 and first.json()["lines"] == [{"order_line_id": rack.pk, "quantity": "2.000"}]
    over = api.post(
        f"/orders/{order.pk}/deliveries",
        {
            "delivered_on": "2026-05-02",
            "lines": [{"order_line_id": rack.pk, "quantity": 2}, {"order_line_id": install.pk, "quantity": "1"}],
        },
    )
    assert over.status_code == 400
    body = over.json()
    assert f"line_{rack.pk}" in body["errors"]
    assert "Line 1 (Server rack): delivering 2 would exceed the ordered 3" in body["detail"]
    assert "at most 1 still open" in body["detail"]
    assert Delivery.objects.filter(order=order).count() == 1
    detail = api.get(f"/orders/{order.pk}").json()
    assert detail["status"] == "partly_delivered"
    assert [ln["open_quantity"] for ln in detail["lines"]] == ["1.000", "2.500"]


@pytest.mark.parametrize(
    "body",
    [
        {"delivered_on": "2026-05-01", "lines": [{"order_line_id": 1, "quantity": 1.5}]},
        {"delivered_on": "2026-05-01", "lines": [{"order_line_id": 1, "quantity": True}]},
        {"delivered_on": "2026-05-01", "lines": [{"order_line_id": 1, "quantity": "NaN"}]},
        {"delivered_on": "2026-05-01", "lines": []},
        {"delivered_on": "not a date", "lines": [{"order_line_id": 1, "quantity": "1"}]},
        {"delivered_on": "2026-05-01", "lines": [{"order_line_id": 1, "quantity": "1"}], "note": "a\x00b"},
        {"delivered_on": "2026-05-01", "lines": [{"order_line_id": 1, "quantity": "1"}], "note": "x" * 50_000},
        {"delivered_on": "2026-05-01", "lines": [{"order_line_id": 1, "quantity": "1", "extra": 1}]},
        {"delivered_on": "2026-05-01", "lines": [{"order_line_id": 99999999, "quantity": "1"}]},
        {"delivered_on": "2026-05-01", "lines": [{"order_line_id": 1, "quantity": "9" * 40}]},
    ],
)
def test_api_delivery_hostile_input(personas: Personas, api_for: Api, body: dict[str, Any]) -> None:
    order = order_confirm(
        actor=personas.rep,
        order=order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk),
    )
    rack = _lines(order)[0]
    for row in body["lines"]:
        if row["order_line_id"] == 1:
            row["order_line_id"] = rack.pk
    response = api_for(personas.rep).post(f"/orders/{order.pk}/deliveries", body)
    assert response.status_code == 400, response.content
    assert Delivery.objects.count() == 0


def test_api_delivery_duplicate_lines_and_foreign_order(personas: Personas, api_for: Api) -> None:
    order = order_confirm(
        actor=personas.rep,
        order=order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk),
    )
    rack = _lines(order)[0]
    api = api_for(personas.rep)
    dup = api.post(
        f"/orders/{order.pk}/deliveries",
        {"delivered_on": "2026-05-01", "lines": [{"order_line_id": rack.pk, "quantity": "1"}] * 2},
    )
    assert dup.status_code == 400 and "lines" in dup.json()["errors"]
    assert (
        api_for(personas.outsider)
        .post(
            f"/orders/{order.pk}/deliveries",
            {"delivered_on": "2026-05-01", "lines": [{"order_line_id": rack.pk, "quantity": "1"}]},
        )
        .status_code
        == 404
    )
    assert (
        api_for(personas.support)
        .post(
            f"/orders/{order.pk}/deliveries",
            {"delivered_on": "2026-05-01", "lines": [{"order_line_id": rack.pk, "quantity": "1"}]},
        )
        .status_code
        == 403
    )
    assert Delivery.objects.count() == 0


def test_api_hand_off_cancel_void_acceptance(personas: Personas, api_for: Api) -> None:
    order = order_confirm(
        actor=personas.rep,
        order=order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk),
    )
    rack, install = _lines(order)
    api = api_for(personas.rep)
    hand = api.post(
        f"/orders/{order.pk}/hand-off", {"fulfilment_status": "in_production", "expected_date": "2026-07-01"}
    )
    assert hand.status_code == 200 and hand.json()["fulfilment_status"] == "in_production"
    assert hand.json()["expected_date"] == "2026-07-01"
    assert api.post(f"/orders/{order.pk}/hand-off", {"fulfilment_status": "teleported"}).status_code == 400
    cleared = api.post(f"/orders/{order.pk}/hand-off", {"expected_date": None})
    assert cleared.json()["expected_date"] is None and cleared.json()["fulfilment_status"] == "in_production"
    d = api.post(
        f"/orders/{order.pk}/deliveries",
        {
            "delivered_on": "2026-05-01",
            "lines": [{"order_line_id": rack.pk, "quantity": "3"}, {"order_line_id": install.pk, "quantity": "2.5"}],
        },
    ).json()
    assert api.get(f"/orders/{order.pk}").json()["status"] == "delivered"
    assert api.post(f"/orders/{order.pk}/cancel", {"reason": "x"}).status_code == 409
    voided = api.post(f"/orders/deliveries/{d['id']}/void", {"reason": "录错"})
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    assert api.get(f"/orders/{order.pk}").json()["status"] == "confirmed"
    again = api.post(
        f"/orders/{order.pk}/deliveries",
        {
            "delivered_on": "2026-05-02",
            "lines": [{"order_line_id": rack.pk, "quantity": "3"}, {"order_line_id": install.pk, "quantity": "2.5"}],
        },
    ).json()
    upload = api.client.post(
        "/api/v1/attachments",
        {
            "record_kind": "order",
            "record_id": order.pk,
            "kind": "other",
            "file": SimpleUploadedFile("验收单.pdf", pdf_bytes()),
        },
    )
    assert upload.status_code == 201, upload.content
    att = upload.json()["id"]
    inst = api.post(
        f"/orders/deliveries/{again['id']}/installation", {"installed_on": "2026-05-03", "attachment_id": att}
    )
    assert inst.status_code == 200 and inst.json()["installation_attachment_id"] == att
    bad = api.post(f"/orders/{order.pk}/acceptance", {"accepted_on": "2026-05-05", "attachment_id": att + 1000})
    assert bad.status_code == 400 and "attachment_id" in bad.json()["errors"]
    accepted = api.post(
        f"/orders/{order.pk}/acceptance", {"accepted_on": "2026-05-05", "attachment_id": att, "note": "合格"}
    )
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted" and accepted.json()["acceptance_attachment_id"] == att
    assert api.post(f"/orders/deliveries/{again['id']}/void", {"reason": "x"}).status_code == 409


def test_api_list_filters_sort_and_cursor(personas: Personas, api_for: Api) -> None:
    orders = [
        order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk) for _ in range(5)
    ]
    order_confirm(actor=personas.rep, order=orders[0])
    api = api_for(personas.manager)
    assert [o["id"] for o in api.get("/orders", status="confirmed").json()["items"]] == [orders[0].pk]
    assert api.get("/orders", account_id=orders[1].account_id).json()["count"] == 1
    first = api.get("/orders", limit=2, sort="number").json()
    assert first["count"] == 5 and [o["number"] for o in first["items"]] == sorted(o.number for o in orders)[:2]
    second = api.get("/orders", limit=2, sort="number", cursor=first["next_cursor"]).json()
    assert second["count"] is None and [o["number"] for o in second["items"]] == sorted(o.number for o in orders)[2:4]
    assert api.get("/orders", cursor="garbage").status_code == 400
    assert api.get("/orders", sort="password").status_code == 400
    assert api.get("/orders", expected_from="2026-02-30").status_code == 400


def test_api_list_query_count_is_constant(personas: Personas, api_for: Api, django_assert_max_num_queries: Any) -> None:
    for _ in range(12):
        order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk)
    api = api_for(personas.assistant)
    with django_assert_max_num_queries(12):
        response = api.get("/orders", limit=50)
    assert len(response.json()["items"]) == 12


# --- pages ---------------------------------------------------------------------------------------


def test_list_page_filters_and_query_bound(
    personas: Personas, client_for: Callable[..., Client], django_assert_max_num_queries: Any
) -> None:
    orders = [
        order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk) for _ in range(30)
    ]
    order_confirm(actor=personas.rep, order=orders[0])
    client = client_for(personas.manager)
    with django_assert_max_num_queries(20):
        response = client.get("/orders/")
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="order-row"') == 25
    page2 = client.get("/orders/", {"page": 2, "after": response.context["page"].next_cursor})
    assert page2.content.decode().count('data-testid="order-row"') == 5
    confirmed = client.get("/orders/", {"status": "confirmed"})
    assert confirmed.content.decode().count('data-testid="order-row"') == 1
    hostile = client.get("/orders/", {"status": "x" * 500, "expected_from": "nope", "sort": "password", "owner": "abc"})
    assert hostile.status_code == 200
    assert client_for(personas.outsider).get("/orders/").content.decode().count('data-testid="order-row"') == 0


def test_detail_page_and_persona_access(
    personas: Personas, client_for: Callable[..., Client], django_assert_max_num_queries: Any
) -> None:
    order = order_confirm(
        actor=personas.rep,
        order=order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk),
    )
    rack = _lines(order)[0]
    for i in range(3):
        delivery_create(actor=personas.rep, order=order, delivered_on=f"2026-05-0{i + 1}", lines={rack.pk: "1"})
    client = client_for(personas.assistant)
    with django_assert_max_num_queries(30):
        response = client.get(f"/orders/{order.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="delivery"') == 3 and "FH-2026-00003" in html
    assert client_for(personas.outsider).get(f"/orders/{order.pk}/").status_code == 404
    support = client_for(personas.support).get(f"/orders/{order.pk}/")
    assert support.status_code == 200 and 'data-testid="order-actions"' not in support.content.decode()
    assert (
        client_for(personas.support).post(f"/orders/{order.pk}/hand-off/", {"fulfilment_status": "shipped"}).status_code
        == 403
    )
    assert client.get("/orders/99999999999999999999/").status_code == 404


def test_create_view_from_contract(personas: Personas, client_for: Callable[..., Client]) -> None:
    contract = make_contract(personas.rep)
    client = client_for(personas.rep)
    page = client.get("/orders/new/", {"contract": contract.pk})
    assert page.status_code == 200 and page.content.decode().count('data-testid="source-line"') == 2
    response = client.post("/orders/new/", {"contract": contract.pk})
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    assert client.get("/orders/new/").status_code == 404
    assert client.get("/orders/new/", {"contract": "x"}).status_code == 404
    assert client_for(personas.outsider).get("/orders/new/", {"contract": contract.pk}).status_code == 404
    quote = make_quote(personas.rep)
    assert client.post("/orders/new/", {"quote": quote.pk}).status_code == 302
    assert Order.objects.count() == 2


def test_delivery_form_refuses_over_delivery_and_records(personas: Personas, client_for: Callable[..., Client]) -> None:
    order = order_confirm(
        actor=personas.rep,
        order=order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk),
    )
    rack, install = _lines(order)
    client = client_for(personas.assistant)
    form = client.get(f"/orders/{order.pk}/deliveries/new/")
    assert form.status_code == 200
    over = client.post(
        f"/orders/{order.pk}/deliveries/new/",
        {"delivered_on": "2026-05-01", f"line_{rack.pk}": "4", f"line_{install.pk}": ""},
    )
    assert over.status_code == 400
    assert "delivering 4 would exceed the ordered 3" in over.content.decode()
    hostile = client.post(
        f"/orders/{order.pk}/deliveries/new/",
        {"delivered_on": "2026-05-01", f"line_{rack.pk}": "1\x00", "note": "x" * 50_000},
    )
    assert hostile.status_code == 400
    assert Delivery.objects.count() == 0
    ok = client.post(f"/orders/{order.pk}/deliveries/new/", {"delivered_on": "2026-05-01", f"line_{rack.pk}": "1"})
    assert ok.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTLY_DELIVERED


def test_pages_confirm_hand_off_accept(personas: Personas, client_for: Callable[..., Client]) -> None:
    order = order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk)
    client = client_for(personas.rep)
    assert client.post(f"/orders/{order.pk}/confirm/").status_code == 302
    client.post(
        f"/orders/{order.pk}/hand-off/",
        {"fulfilment_status": "ready_to_ship", "expected_date": "2026-06-01", "note": ""},
    )
    order.refresh_from_db()
    assert (order.status, order.fulfilment_status, str(order.expected_date)) == (
        "confirmed",
        "ready_to_ship",
        "2026-06-01",
    )
    rack, install = _lines(order)
    client.post(
        f"/orders/{order.pk}/deliveries/new/",
        {"delivered_on": "2026-05-01", f"line_{rack.pk}": "3", f"line_{install.pk}": "2.5"},
    )
    response = client.post(
        f"/orders/{order.pk}/acceptance/",
        {"day": "2026-05-09", "note": "", "file": SimpleUploadedFile("验收.pdf", pdf_bytes())},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED and order.acceptance_file is not None
    assert AuditEvent.objects.filter(verb="orders.order.accepted").count() == 1


def test_account_panel(personas: Personas, client_for: Callable[..., Client]) -> None:
    order = order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk)
    html = client_for(personas.rep).get(f"/orders/for-account/{order.account_id}/panel/").content.decode()
    assert order.number in html
    assert client_for(personas.outsider).get(f"/orders/for-account/{order.account_id}/panel/").status_code == 404
    account_page = client_for(personas.rep).get(f"/accounts/{order.account_id}/").content.decode()
    assert f"/orders/for-account/{order.account_id}/panel/" in account_page


def test_delivery_form_on_a_draft_goes_back(personas: Personas, client_for: Callable[..., Client]) -> None:
    order = order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk)
    client = client_for(personas.rep)
    assert client.get(f"/orders/{order.pk}/deliveries/new/")["Location"] == f"/orders/{order.pk}/"
    rack = _lines(order)[0]
    response = client.post(
        f"/orders/{order.pk}/deliveries/new/", {"delivered_on": "2026-05-01", f"line_{rack.pk}": "1"}
    )
    assert response.status_code == 302 and Delivery.objects.count() == 0
    assert client_for(personas.support).get(f"/orders/{order.pk}/deliveries/new/").status_code == 403
