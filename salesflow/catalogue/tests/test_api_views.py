"""The catalogue API and pages through the same services: persona access, cost hidden
(null) for reps/assistants/support, hostile input answered 400/403/404/409 with nothing
written, the deal panel and /opportunities/{id}/lines, query counts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from salesflow.catalogue.models import (
    CustomerGroupMember,
    DiscountRule,
    OpportunityLine,
    PriceList,
    PriceListItem,
    Product,
    VolumeTier,
)
from salesflow.catalogue.tests.factories import make_category, make_group, make_price_list, make_product
from salesflow.parties.tests.factories import make_account
from salesflow.sales.models import Opportunity
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.testing import REP_RECORD_ACCESS, Personas, expected_denial

pytestmark = pytest.mark.django_db

NEW = {"code": "NEW-1", "name_zh": "新产品", "name_en": "New product", "unit": "套", "list_price": "100.00"}


def test_product_api_crud_and_cost_protection(personas: Personas, api_for: Any) -> None:
    admin = api_for(personas.admin)
    line = make_category("hw")
    response = admin.post("/catalogue/products", {**NEW, "cost": "60.00", "category_id": line.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["cost"], body["margin_percent"], body["category_id"]) == ("60.00", "40.0", line.pk)
    pk = body["id"]
    for name, user in personas.all().items():
        got = api_for(user).get(f"/catalogue/products/{pk}").json()
        if name in {"admin", "manager", "other_manager"}:
            assert got["cost"] == "60.00", name
        else:
            assert got["cost"] is None and got["margin_percent"] is None, name
        listed = api_for(user).get("/catalogue/products").json()["items"]
        assert [p["cost"] for p in listed] == [got["cost"]], name
    assert api_for(personas.rep).patch(f"/catalogue/products/{pk}", {"list_price": "1"}).status_code == 403
    assert admin.patch(f"/catalogue/products/{pk}", {"list_price": "120"}).json()["list_price"] == "120.00"
    assert admin.post(f"/catalogue/products/{pk}/deactivate").json()["active"] is False
    assert api_for(personas.rep).get(f"/catalogue/products/{pk}").status_code == 404
    assert api_for(personas.manager).get(f"/catalogue/products/{pk}").status_code == 200
    assert admin.post(f"/catalogue/products/{pk}/activate").json()["active"] is True


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({**NEW, "list_price": "NaN"}, "list_price", 400),
        ({**NEW, "list_price": 1e20}, "list_price", 400),
        ({**NEW, "list_price": True}, "list_price", 400),
        ({**NEW, "name_zh": "a\u0000b"}, "name_zh", 400),
        ({**NEW, "name_en": "x" * 50_000}, "name_en", 400),
        ({**NEW, "surprise": 1}, "surprise", 400),
        ({**NEW, "tax_rate": "250"}, "tax_rate", 400),
        ({**NEW, "category_id": 2**70}, "category_id", 400),
        ({**NEW, "category_id": "hw"}, "category_id", 400),
        ({**NEW, "kind": ["product"]}, "kind", 400),
        ({**NEW, "code": "DUP-1"}, "code", 409),
    ],
)
def test_hostile_product_api(personas: Personas, api_for: Any, body: dict[str, Any], field: str, status: int) -> None:
    make_product(code="DUP-1")
    response = api_for(personas.admin).post("/catalogue/products", body)
    assert response.status_code == status, response.content
    assert field in str(response.json()), response.json()
    assert Product.objects.count() == 1


def test_malformed_json_and_wrong_types(personas: Personas, api_for: Any) -> None:
    api = api_for(personas.admin)
    response = api.client.post("/api/v1/catalogue/products", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert api.post("/catalogue/products", [1, 2]).status_code == 400
    assert api.get("/catalogue/products", limit="many").status_code == 400
    assert api.get("/catalogue/products/99999999999999999999").status_code == 404
    assert not Product.objects.exists()


def test_price_settings_api(personas: Personas, api_for: Any) -> None:
    admin = api_for(personas.admin)
    product = make_product(code="P-API")
    group = admin.post("/catalogue/groups", {"code": "vip", "name_zh": "VIP 客户", "name_en": "VIP"}).json()
    account = make_account(personas.rep)
    members = admin.post(f"/catalogue/groups/{group['id']}/members", {"add": [account.pk]}).json()
    assert members["added"] == [account.pk] and members["account_ids"] == [account.pk]
    bad = admin.post(f"/catalogue/groups/{group['id']}/members", {"add": [2**62]})
    assert bad.status_code == 400 and "add" in bad.json()["errors"]
    plist = admin.post(
        "/catalogue/price-lists",
        {
            "code": "vip-2026",
            "name_zh": "VIP 价 2026",
            "name_en": "VIP 2026",
            "customer_group_id": group["id"],
            "channel": "direct",
            "valid_from": "2026-01-01",
            "valid_to": "2026-12-31",
        },
    )
    assert plist.status_code == 201, plist.content
    list_id = plist.json()["id"]
    dates = admin.patch(f"/catalogue/price-lists/{list_id}", {"valid_to": "2025-01-01"})
    assert dates.status_code == 400 and "valid_to" in dates.json()["errors"]
    item = admin.post(f"/catalogue/price-lists/{list_id}/items", {"product_id": product.pk, "unit_price": "800"})
    assert item.status_code == 200 and item.json()["unit_price"] == "800.00"
    both = admin.post(
        f"/catalogue/price-lists/{list_id}/items/{item.json()['id']}/tiers",
        {"min_quantity": "10", "unit_price": "700", "discount_percent": "5"},
    )
    assert both.status_code == 400
    tier = admin.post(
        f"/catalogue/price-lists/{list_id}/items/{item.json()['id']}/tiers", {"min_quantity": "10", "unit_price": "700"}
    )
    assert tier.status_code == 200 and tier.json()["min_quantity"] == "10.000"
    detail = api_for(personas.manager).get(f"/catalogue/price-lists/{list_id}").json()
    assert detail["items"][0]["tiers"][0]["unit_price"] == "700.00"
    price = admin.get(
        f"/catalogue/products/{product.pk}/price", account_id=account.pk, quantity="12", on="2026-06-01"
    ).json()
    assert (price["unit_price"], price["source"], price["price_list_id"]) == ("700.00", "tier", list_id)
    no_price = admin.get(f"/catalogue/products/{product.pk}/price", currency="USD")
    assert no_price.status_code == 400 and no_price.json()["code"] == "no_price"
    rule = admin.post(
        "/catalogue/discount-rules", {"name": "VIP 折扣", "percent": "3", "customer_group_id": group["id"]}
    )
    assert rule.status_code == 201, rule.content
    # reps, assistants and support read no price settings; managers read but do not write
    for name in ("rep", "assistant", "support"):
        api = api_for(personas.all()[name])
        assert api.get("/catalogue/price-lists").status_code == 403
        assert api.get("/catalogue/discount-rules").status_code == 403
        assert api.get("/catalogue/groups").status_code == 403
    manager = api_for(personas.manager)
    assert manager.get("/catalogue/discount-rules").status_code == 200
    assert manager.post("/catalogue/discount-rules", {"name": "x", "percent": "1"}).status_code == 403
    assert manager.delete(f"/catalogue/price-lists/{list_id}").status_code == 403
    assert admin.delete(f"/catalogue/price-lists/{list_id}").status_code == 204
    assert not PriceList.objects.exists() and not PriceListItem.objects.exists() and not VolumeTier.objects.exists()
    assert DiscountRule.objects.count() == 1 and CustomerGroupMember.objects.count() == 1


@pytest.fixture
def deal(personas: Personas) -> Opportunity:
    return make_opportunity(personas.rep, amount="5000")


@pytest.mark.parametrize("persona", list(REP_RECORD_ACCESS))
def test_deal_lines_api_per_persona(personas: Personas, api_for: Any, deal: Opportunity, persona: str) -> None:
    product = make_product(list_price=Decimal("200.00"), tax_rate=Decimal("13.00"))
    api = api_for(personas.all()[persona])
    response = api.post(f"/opportunities/{deal.pk}/lines", {"product_id": product.pk, "quantity": "2"})
    denial = expected_denial(persona, write=True)
    if denial is None:
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["total"], body["amount"], body["lines"][0]["total"]) == ("452.00", "452.00", "452.00")
        assert (body["margin"] is not None) is (persona in {"admin", "manager"})
        line_id = body["lines"][0]["id"]
        changed = api.patch(f"/opportunities/{deal.pk}/lines/{line_id}", {"quantity": "1"}).json()
        assert changed["amount"] == "226.00"
        assert api.delete(f"/opportunities/{deal.pk}/lines/{line_id}").json()["lines"] == []
        return
    assert response.status_code == denial
    assert not OpportunityLine.objects.exists()
    read = api.get(f"/opportunities/{deal.pk}/lines")
    assert read.status_code == (200 if REP_RECORD_ACCESS[persona][0] else 404)


def test_deal_lines_api_hostile(personas: Personas, api_for: Any, deal: Opportunity) -> None:
    product = make_product()
    api = api_for(personas.rep)
    for body, field in [
        ({"product_id": product.pk, "quantity": "NaN"}, "quantity"),
        ({"product_id": product.pk, "quantity": "0"}, "quantity"),
        ({"product_id": product.pk, "quantity": "1", "discount_percent": "101"}, "discount_percent"),
        ({"product_id": product.pk, "quantity": "1", "unit_price": "1e30"}, "unit_price"),
        ({"product_id": product.pk, "quantity": "1", "extra": True}, "extra"),
        ({"product_id": "x", "quantity": "1"}, "product_id"),
    ]:
        response = api.post(f"/opportunities/{deal.pk}/lines", body)
        assert response.status_code == 400, (body, response.content)
        assert field in str(response.json()), response.json()
    hidden = make_product(active=False)
    assert api.post(f"/opportunities/{deal.pk}/lines", {"product_id": hidden.pk, "quantity": "1"}).status_code == 404
    other = make_opportunity(personas.teammate)
    foreign = api_for(personas.teammate).post(
        f"/opportunities/{other.pk}/lines", {"product_id": product.pk, "quantity": "1"}
    )
    line_id = foreign.json()["lines"][0]["id"]
    assert api.patch(f"/opportunities/{deal.pk}/lines/{line_id}", {"quantity": "3"}).status_code == 404
    assert api.patch(f"/opportunities/{other.pk}/lines/{line_id}", {"quantity": "3"}).status_code == 404
    assert OpportunityLine.objects.get(pk=line_id).quantity == Decimal("1.000")
    deal.refresh_from_db()
    assert deal.amount == Decimal("5000.00")


def test_product_pages_hide_cost(personas: Personas, client_for: Any) -> None:
    make_product(code="PG-1", cost=Decimal("321.00"))
    for name, user in personas.all().items():
        page = client_for(user).get("/catalogue/")
        assert page.status_code == 200
        text = page.content.decode()
        assert "PG-1" in text
        assert ("321.00" in text) is (name in {"admin", "manager", "other_manager"}), name
    assert client_for(personas.rep).get("/catalogue/price-lists/").status_code == 403
    assert client_for(personas.manager).get("/catalogue/price-lists/").status_code == 200
    assert client_for(personas.rep).get("/catalogue/products/new/").status_code == 403


def test_product_form_create_and_hostile(personas: Personas, client_for: Any) -> None:
    client = client_for(personas.admin)
    form = {**NEW, "kind": "product", "tax_rate": "13", "currency": "CNY", "active": "on", "cost": ""}
    response = client.post("/catalogue/products/new/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    product = Product.objects.get(code="NEW-1")
    assert product.cost is None and product.list_price == Decimal("100.00")
    again = client.post("/catalogue/products/new/", form)
    assert again.status_code == 400 and "This code is already taken." in again.content.decode()
    for field, value in [("list_price", "NaN"), ("name_zh", "a\x00b"), ("tax_rate", "1000"), ("unit", "u" * 500)]:
        bad = client.post("/catalogue/products/new/", {**form, "code": "NEW-2", field: value})
        assert bad.status_code == 400, field
    assert Product.objects.count() == 1
    assert client_for(personas.rep).post("/catalogue/products/new/", {**form, "code": "R-1"}).status_code == 403


def test_deal_panel_and_forms(personas: Personas, client_for: Any, deal: Opportunity) -> None:
    product = make_product(code="PNL-1", list_price=Decimal("100.00"), tax_rate=Decimal("6.00"))
    client = client_for(personas.rep)
    page = client.get(f"/opportunities/{deal.pk}/")
    assert "catalogue-panel-slot" in page.content.decode()
    panel = client.get(f"/catalogue/deal/{deal.pk}/")
    assert panel.status_code == 200 and "deal-lines-empty" in panel.content.decode()
    added = client.post(f"/catalogue/deal/{deal.pk}/", {"product": product.pk, "quantity": "3", "channel": "direct"})
    assert added.status_code == 200
    html = added.content.decode()
    assert "PNL-1" in html and "¥318.00" in html and "hx-swap-oob" in html
    deal.refresh_from_db()
    assert deal.amount == Decimal("318.00")
    line = OpportunityLine.objects.get(opportunity=deal)
    prefix = f"line{line.pk}"
    edit = client.post(
        f"/catalogue/deal/{deal.pk}/lines/{line.pk}/",
        {"action": "save", f"{prefix}-quantity": "1", f"{prefix}-unit_price": "50", f"{prefix}-discount_percent": "0"},
    )
    assert edit.status_code == 200
    deal.refresh_from_db()
    assert deal.amount == Decimal("53.00")
    bad = client.post(
        f"/catalogue/deal/{deal.pk}/lines/{line.pk}/",
        {
            "action": "save",
            f"{prefix}-quantity": "NaN",
            f"{prefix}-unit_price": "50",
            f"{prefix}-discount_percent": "0",
        },
    )
    assert bad.status_code == 400 and "deal-line-errors" in bad.content.decode()
    bad_add = client.post(f"/catalogue/deal/{deal.pk}/", {"product": product.pk, "quantity": "-1", "channel": "direct"})
    assert bad_add.status_code == 400
    # support reads the panel without forms; an outsider gets 404; support cannot post
    support = client_for(personas.support).get(f"/catalogue/deal/{deal.pk}/").content.decode()
    assert "PNL-1" in support and "deal-line-add-form" not in support
    assert client_for(personas.outsider).get(f"/catalogue/deal/{deal.pk}/").status_code == 404
    denied = client_for(personas.support).post(f"/catalogue/deal/{deal.pk}/", {"product": product.pk, "quantity": "1"})
    assert denied.status_code == 403
    removed = client.post(f"/catalogue/deal/{deal.pk}/lines/{line.pk}/", {"action": "remove"})
    assert removed.status_code == 200 and not OpportunityLine.objects.exists()


def test_query_counts_are_constant(
    personas: Personas, client_for: Any, api_for: Any, deal: Opportunity, django_assert_max_num_queries: Any
) -> None:
    line = make_category("hw")
    products = [make_product(category=line) for _ in range(30)]
    make_price_list({p: "10.00" for p in products})
    for p in products[:8]:
        OpportunityLine.objects.create(
            opportunity=deal, product=p, code=p.code, name_zh=p.name_zh, quantity=Decimal("1"), unit_price=Decimal("1")
        )
    admin = client_for(personas.admin)
    rep = client_for(personas.rep)
    admin.get("/catalogue/")  # warm caches (session, content types)
    rep.get(f"/catalogue/deal/{deal.pk}/")
    with django_assert_max_num_queries(12):
        assert admin.get("/catalogue/").status_code == 200
    with django_assert_max_num_queries(12):
        assert rep.get("/catalogue/").status_code == 200
    with django_assert_max_num_queries(14):
        assert rep.get(f"/catalogue/deal/{deal.pk}/").status_code == 200
    api = api_for(personas.manager)
    with django_assert_max_num_queries(10):
        assert len(api.get("/catalogue/products", limit=25).json()["items"]) == 25
    with django_assert_max_num_queries(10):
        assert len(api.get(f"/opportunities/{deal.pk}/lines").json()["lines"]) == 8
    make_group("vip")
    with django_assert_max_num_queries(10):
        assert admin.get("/catalogue/price-lists/").status_code == 200
