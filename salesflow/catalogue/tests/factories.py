"""Catalogue test data: product lines, products, groups, price lists, tiers and rules."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from salesflow.catalogue.models import (
    CustomerGroup,
    CustomerGroupMember,
    DiscountRule,
    PriceList,
    PriceListItem,
    Product,
    ProductCategory,
    VolumeTier,
)
from salesflow.parties.models import Account

_seq = itertools.count(1)


def make_category(code: str | None = None, **fields: Any) -> ProductCategory:
    n = next(_seq)
    fields.setdefault("name_zh", f"产品线 {n}")
    fields.setdefault("name_en", f"Line {n}")
    return ProductCategory.objects.create(code=code or f"line-{n}", **fields)


def make_product(code: str | None = None, **fields: Any) -> Product:
    n = next(_seq)
    fields.setdefault("name_zh", f"产品 {n}")
    fields.setdefault("name_en", f"Product {n}")
    fields.setdefault("unit", "台")
    fields.setdefault("list_price", Decimal("1000.00"))
    fields.setdefault("cost", Decimal("600.00"))
    return Product.objects.create(code=code or f"P-{n:04d}", **fields)


def make_group(code: str | None = None, *accounts: Account, **fields: Any) -> CustomerGroup:
    n = next(_seq)
    fields.setdefault("name_zh", f"客户组 {n}")
    fields.setdefault("name_en", f"Group {n}")
    group = CustomerGroup.objects.create(code=code or f"group-{n}", **fields)
    for account in accounts:
        CustomerGroupMember.objects.create(group=group, account=account)
    return group


def make_price_list(
    items: dict[Product, str] | None = None,
    *,
    code: str | None = None,
    currency: str = "CNY",
    **fields: Any,
) -> PriceList:
    n = next(_seq)
    fields.setdefault("name_zh", f"价目表 {n}")
    fields.setdefault("name_en", f"Price list {n}")
    plist = PriceList.objects.create(code=code or f"pl-{n}", currency=currency, **fields)
    for product, price in (items or {}).items():
        PriceListItem.objects.create(price_list=plist, product=product, unit_price=Decimal(price))
    return plist


def make_tier(
    plist: PriceList, product: Product, min_quantity: str, *, price: str | None = None, percent: str | None = None
) -> VolumeTier:
    item = PriceListItem.objects.get(price_list=plist, product=product)
    return VolumeTier.objects.create(
        item=item,
        min_quantity=Decimal(min_quantity),
        unit_price=Decimal(price) if price is not None else None,
        discount_percent=Decimal(percent) if percent is not None else None,
    )


def make_rule(percent: str, **fields: Any) -> DiscountRule:
    fields.setdefault("name", f"折扣 {next(_seq)}")
    return DiscountRule.objects.create(percent=Decimal(percent), **fields)


TODAY = date(2026, 6, 15)
