"""The settings pages (price lists, tiers, customer groups, discount rules, product lines)
through their forms: administrators write, managers read, others are refused; hostile
form input is a 400 with nothing written."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from salesflow.catalogue.models import (
    CustomerGroup,
    CustomerGroupMember,
    DiscountRule,
    PriceList,
    PriceListItem,
    ProductCategory,
    VolumeTier,
)
from salesflow.catalogue.tests.factories import make_price_list, make_product
from salesflow.parties.tests.factories import make_account
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db

PAGES = [
    "/catalogue/product-lines/",
    "/catalogue/price-lists/",
    "/catalogue/customer-groups/",
    "/catalogue/discount-rules/",
]
LIST_FORM = {"code": "dealer-2026", "name_zh": "经销商价 2026", "name_en": "Dealers 2026", "currency": "CNY",
             "channel": "distributor", "priority": "10", "active": "on"}  # fmt: skip


def test_pages_per_persona(personas: Personas, client_for: Any) -> None:
    for name, user in personas.all().items():
        client = client_for(user)
        for url in PAGES:
            expected = 200 if name in {"admin", "manager", "other_manager"} else 403
            assert client.get(url).status_code == expected, (name, url)
    manager = client_for(personas.manager)
    assert manager.post("/catalogue/price-lists/", LIST_FORM).status_code == 403
    assert manager.post("/catalogue/product-lines/", {"code": "x", "name_zh": "x", "name_en": "x"}).status_code == 403
    assert not PriceList.objects.exists() and not ProductCategory.objects.exists()


def test_price_list_items_and_tiers_by_form(personas: Personas, client_for: Any) -> None:
    admin = client_for(personas.admin)
    response = admin.post("/catalogue/price-lists/", LIST_FORM)
    assert response.status_code == 302
    plist = PriceList.objects.get(code="dealer-2026")
    assert plist.channel == "distributor" and plist.priority == 10
    again = admin.post("/catalogue/price-lists/", LIST_FORM)
    assert again.status_code == 400 and "This code is already taken." in again.content.decode()
    bad_dates = admin.post(
        "/catalogue/price-lists/", {**LIST_FORM, "code": "other", "valid_from": "2026-05-01", "valid_to": "2026-04-01"}
    )
    assert bad_dates.status_code == 400 and PriceList.objects.count() == 1
    product = make_product()
    url = f"/catalogue/price-lists/{plist.pk}/"
    assert admin.post(url, {"form": "item", "product": product.pk, "unit_price": "NaN"}).status_code == 400
    assert admin.post(url, {"form": "item", "product": product.pk, "unit_price": "880"}).status_code == 302
    item = PriceListItem.objects.get(price_list=plist)
    assert item.unit_price == Decimal("880.00")
    both = admin.post(
        url, {"form": "tier", "item_id": item.pk, "min_quantity": "10", "unit_price": "1", "discount_percent": "1"}
    )
    assert both.status_code == 400 and not VolumeTier.objects.exists()
    assert (
        admin.post(url, {"form": "tier", "item_id": item.pk, "min_quantity": "10", "unit_price": "800"}).status_code
        == 302
    )
    tier = VolumeTier.objects.get(item=item)
    page = client_for(personas.manager).get(url).content.decode()
    assert "¥800.00" in page and "price-tier" in page
    assert admin.post(f"/catalogue/price-lists/{plist.pk}/delete/tier/{tier.pk}/").status_code == 302
    other = make_price_list()
    assert admin.post(f"/catalogue/price-lists/{other.pk}/delete/item/{item.pk}/").status_code == 404
    assert admin.post(f"/catalogue/price-lists/{plist.pk}/delete/list/{plist.pk}/").status_code == 302
    assert not PriceList.objects.filter(pk=plist.pk).exists()


def test_groups_and_rules_by_form(personas: Personas, client_for: Any) -> None:
    admin = client_for(personas.admin)
    response = admin.post(
        "/catalogue/customer-groups/", {"code": "vip", "name_zh": "VIP", "name_en": "VIP", "active": "on"}
    )
    assert response.status_code == 302
    group = CustomerGroup.objects.get(code="vip")
    account = make_account(personas.rep, name="浙江远大制造有限公司")
    found = admin.get(f"/catalogue/customer-groups/{group.pk}/", {"q": "远大"}).content.decode()
    assert "浙江远大制造有限公司" in found
    assert admin.post(f"/catalogue/customer-groups/{group.pk}/members/", {"account_id": account.pk}).status_code == 302
    assert CustomerGroupMember.objects.filter(group=group, account=account).exists()
    assert admin.post(f"/catalogue/customer-groups/{group.pk}/members/", {"account_id": "x"}).status_code == 404
    admin.post(f"/catalogue/customer-groups/{group.pk}/members/", {"account_id": account.pk, "action": "remove"})
    assert not CustomerGroupMember.objects.exists()
    rule = {"name": "VIP 3%", "percent": "3", "priority": "5", "customer_group": group.pk, "active": "on"}
    assert admin.post("/catalogue/discount-rules/", {**rule, "percent": "120"}).status_code == 400
    assert admin.post("/catalogue/discount-rules/", {**rule, "name": "x\x00"}).status_code == 400
    assert admin.post("/catalogue/discount-rules/", rule).status_code == 302
    saved = DiscountRule.objects.get()
    assert (saved.percent, saved.customer_group_id) == (Decimal("3.00"), group.pk)
    assert "VIP 3%" in client_for(personas.manager).get("/catalogue/discount-rules/").content.decode()
    assert admin.post(f"/catalogue/discount-rules/{saved.pk}/delete/").status_code == 302
    assert not DiscountRule.objects.exists()
