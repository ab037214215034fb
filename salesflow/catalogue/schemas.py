"""API schemas of the catalogue (``/api/v1/catalogue``) and of deal lines
(``/api/v1/opportunities/{id}/lines``).

Request bodies are strict (unknown fields → 400). Create and change share one body: a
``POST`` sends the required fields, a ``PATCH`` only the fields it changes. Amounts,
quantities and percentages are decimal strings (exact numbers accepted), parsed by the
services with the currency's places.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from ninja import Field, Schema

from salesflow.core.keyset import CURSOR_MAX_LENGTH
from salesflow.core.money_schema import MoneyIn
from salesflow.core.schemas import COUNT_DOC, CURSOR_DOC, NEXT_CURSOR_DOC, SearchText, StrictQuery, StrictSchema

ChannelIn = Literal["", "direct", "distributor", "online"]
GradeIn = Literal["", "A", "B", "C", "D"]


class CategoryIn(StrictSchema):
    code: str | None = Field(None, max_length=40)
    name_zh: str | None = Field(None, max_length=100)
    name_en: str | None = Field(None, max_length=100)
    active: bool | None = None


class CatalogueCategoryOut(Schema):
    id: int
    code: str
    name: str
    name_zh: str
    name_en: str
    active: bool


class ProductIn(StrictSchema):
    code: str | None = Field(None, max_length=40)
    name_zh: str | None = Field(None, max_length=200)
    name_en: str | None = Field(None, max_length=200)
    kind: Literal["product", "service"] | None = None
    unit: str | None = Field(None, max_length=20)
    category_id: int | None = Field(None, ge=1, le=2**63 - 1)
    tax_rate: MoneyIn | None = Field(None, description="Percent, 0–100, two places")
    list_price: MoneyIn | None = Field(None, description="Excluding tax, in the product's currency")
    currency: str | None = Field(None, max_length=3)
    cost: MoneyIn | None = Field(None, description="Protected: administrators and managers only see it")
    active: bool | None = None
    description: str | None = Field(None, max_length=2000)


class ProductOut(Schema):
    id: int
    code: str
    name: str
    name_zh: str
    name_en: str
    kind: str
    unit: str
    category_id: int | None
    category: str | None
    tax_rate: str
    list_price: str
    currency: str
    cost: str | None = Field(None, description="null unless the caller may see costs (administrators, managers)")
    margin_percent: str | None = Field(None, description="(list price − cost) / list price; null like cost")
    active: bool
    description: str


class ProductPage(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[ProductOut]
    next_cursor: str | None = Field(..., description=NEXT_CURSOR_DOC)


class ProductFilters(StrictQuery):
    q: SearchText
    category_id: int | None = Field(None, ge=1, le=2**63 - 1)
    kind: Literal["", "product", "service"] = ""
    active: bool | None = None
    limit: int = Field(25, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)


class PriceQuery(StrictQuery):
    account_id: int | None = Field(None, ge=1, le=2**63 - 1)
    currency: str = Field("CNY", min_length=3, max_length=3)
    quantity: str = Field("1", max_length=40)
    channel: Literal["direct", "distributor", "online"] = "direct"
    on: date | None = Field(None, description="Default: today")


class ResolvedPriceOut(Schema):
    unit_price: str
    discount_percent: str
    tax_rate: str
    price_list_id: int | None
    tier_id: int | None
    rule_ids: list[int]
    source: str
    explanation: str


class GroupIn(StrictSchema):
    code: str | None = Field(None, max_length=40)
    name_zh: str | None = Field(None, max_length=100)
    name_en: str | None = Field(None, max_length=100)
    active: bool | None = None
    description: str | None = Field(None, max_length=2000)


class GroupOut(Schema):
    id: int
    code: str
    name: str
    name_zh: str
    name_en: str
    active: bool
    description: str
    member_count: int


class MembersIn(StrictSchema):
    add: list[int] = Field(default_factory=list, max_length=10_000)
    remove: list[int] = Field(default_factory=list, max_length=10_000)


class MembersOut(Schema):
    added: list[int]
    removed: list[int]
    account_ids: list[int] = Field(..., description="The members the caller can see")


class PriceListIn(StrictSchema):
    code: str | None = Field(None, max_length=40)
    name_zh: str | None = Field(None, max_length=100)
    name_en: str | None = Field(None, max_length=100)
    currency: str | None = Field(None, max_length=3)
    channel: ChannelIn | None = Field(None, description="Empty: every channel")
    customer_group_id: int | None = Field(None, ge=1, le=2**63 - 1)
    valid_from: date | None = None
    valid_to: date | None = Field(None, description="Inclusive")
    priority: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    active: bool | None = None


class CatalogueTierOut(Schema):
    id: int
    min_quantity: str
    unit_price: str | None
    discount_percent: str | None


class PriceItemOut(Schema):
    id: int
    product_id: int
    code: str
    name: str
    unit_price: str
    tiers: list[CatalogueTierOut]


class PriceListOut(Schema):
    id: int
    code: str
    name: str
    name_zh: str
    name_en: str
    currency: str
    channel: str
    customer_group_id: int | None
    valid_from: date | None
    valid_to: date | None
    priority: int
    active: bool
    item_count: int = 0


class PriceListDetailOut(PriceListOut):
    items: list[PriceItemOut]


class PriceItemIn(StrictSchema):
    product_id: int = Field(..., ge=1, le=2**63 - 1)
    unit_price: MoneyIn


class CatalogueTierIn(StrictSchema):
    min_quantity: MoneyIn = Field(..., description="Quantity from which the tier applies (> 0, three places)")
    unit_price: MoneyIn | None = None
    discount_percent: MoneyIn | None = None


class CatalogueRuleIn(StrictSchema):
    name: str | None = Field(None, max_length=100)
    percent: MoneyIn | None = None
    priority: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    customer_group_id: int | None = Field(None, ge=1, le=2**63 - 1)
    grade: GradeIn | None = None
    category_id: int | None = Field(None, ge=1, le=2**63 - 1)
    product_id: int | None = Field(None, ge=1, le=2**63 - 1)
    channel: ChannelIn | None = None
    min_quantity: MoneyIn | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    active: bool | None = None


class CatalogueRuleOut(Schema):
    id: int
    name: str
    percent: str
    priority: int
    customer_group_id: int | None
    grade: str
    category_id: int | None
    product_id: int | None
    channel: str
    min_quantity: str | None
    valid_from: date | None
    valid_to: date | None
    active: bool


class CatalogueLineIn(StrictSchema):
    product_id: int = Field(..., ge=1, le=2**63 - 1)
    quantity: MoneyIn = Field(..., description="Greater than zero, at most three places")
    unit_price: MoneyIn | None = Field(None, description="Default: from the price lists (resolve_price)")
    discount_percent: MoneyIn | None = Field(None, description="Default: from the tiers and discount rules")
    channel: Literal["direct", "distributor", "online"] = "direct"


class LineChangeIn(StrictSchema):
    quantity: MoneyIn | None = None
    unit_price: MoneyIn | None = None
    discount_percent: MoneyIn | None = None


class CatalogueLineOut(Schema):
    id: int
    position: int
    product_id: int | None
    code: str
    name: str
    name_zh: str
    name_en: str
    unit: str
    quantity: str
    unit_price: str
    discount_percent: str
    tax_rate: str
    gross: str
    discount: str
    net: str
    tax: str
    total: str
    price_list_id: int | None
    price_source: str


class DealLinesOut(Schema):
    opportunity_id: int
    currency: str
    amount: str = Field(..., description="The deal's amount (the lines' total while it has lines)")
    lines: list[CatalogueLineOut]
    subtotal: str
    discount: str
    net: str
    tax: str
    total: str
    margin: str | None = Field(None, description="net − quantity × cost; null unless the caller may see costs")
