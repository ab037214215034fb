"""API schemas of quotes (``/api/v1/quotes``). Numbers arrive as decimal strings (or exact
JSON numbers) and are parsed by the services, which name the field of any error."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from salesflow.core.keyset import CURSOR_MAX_LENGTH
from salesflow.core.money import AMOUNT_SYNTAX
from salesflow.core.money_schema import MoneyOut
from salesflow.core.schemas import COUNT_DOC, CURSOR_DOC, NEXT_CURSOR_DOC, SearchText, StrictQuery, StrictSchema


def _number(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        raise PydanticCustomError("invalid_number", "Enter a number.")
    if isinstance(value, int):
        if abs(value) > 10**15:
            raise PydanticCustomError("invalid_number", "Enter a smaller number.")
        return str(value)
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 40 or not AMOUNT_SYNTAX.fullmatch(text):
            raise PydanticCustomError("invalid_number", "Enter a number.")
        return text
    raise PydanticCustomError("invalid_number", "Enter a number.")


Number = Annotated[str, BeforeValidator(_number)]
Language = Literal["zh-hans", "en"]
Status = Literal["draft", "pending_approval", "approved", "sent", "accepted", "declined", "expired", "superseded"]


class QuoteLineIn(StrictSchema):
    product_id: int | None = Field(None, ge=1, description="An active product; leave out for a hand-entered line")
    code: str = Field("", max_length=40)
    name_zh: str = Field("", max_length=200, description="Defaults to the product's Chinese name")
    name_en: str = Field("", max_length=200)
    unit: str = Field("", max_length=20)
    quantity: Number = Field("1", description="Up to three decimal places")
    unit_price: Number | None = Field(None, description="Defaults to the applicable price list's price")
    discount_percent: Number | None = Field(None, description="0–100, two places")
    tax_rate: Number | None = Field(None, description="0–100, two places; defaults to the product's")


class QuoteCreateIn(StrictSchema):
    multiline_fields = frozenset({"terms"})

    opportunity_id: int = Field(..., ge=1)
    title: str = Field("", max_length=200)
    contact_id: int | None = Field(None, ge=1)
    valid_until: date | None = None
    prices_include_tax: bool = False
    language: Language = "zh-hans"
    terms: str = Field("", max_length=5000)
    lines: list[QuoteLineIn] = Field(default_factory=list, max_length=200)


class QuoteUpdateIn(StrictSchema):
    multiline_fields = frozenset({"terms"})

    title: str | None = Field(None, max_length=200)
    contact_id: int | None = Field(None, ge=1)
    valid_until: date | None = None
    prices_include_tax: bool | None = None
    language: Language | None = None
    terms: str | None = Field(None, max_length=5000)
    lines: list[QuoteLineIn] | None = Field(None, max_length=200)


class SendIn(StrictSchema):
    multiline_fields = frozenset({"message"})

    to: list[str] = Field(..., min_length=1, max_length=10)
    language: Language | None = None
    message: str = Field("", max_length=2000)


class CompanyProfileIn(StrictSchema):
    name_zh: str | None = Field(None, max_length=200)
    name_en: str | None = Field(None, max_length=200)
    address_zh: str | None = Field(None, max_length=300)
    address_en: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=40)
    tax_id: str | None = Field(None, max_length=30)
    bank_name: str | None = Field(None, max_length=200)
    bank_account: str | None = Field(None, max_length=60)


class CompanyProfileOut(Schema):
    name_zh: str
    name_en: str
    address_zh: str
    address_en: str
    phone: str
    tax_id: str
    bank_name: str
    bank_account: str


class QuoteLineOut(Schema):
    position: int
    product_id: int | None
    code: str
    name_zh: str
    name_en: str
    unit: str
    quantity: str
    unit_price: MoneyOut
    discount_percent: str
    tax_rate: str
    gross: MoneyOut
    discount: MoneyOut
    net: MoneyOut
    tax: MoneyOut
    total: MoneyOut


class QuoteVersionOut(Schema):
    version: int
    status: str
    valid_until: date | None
    prices_include_tax: bool
    customer: dict[str, Any]
    terms: str
    subtotal: MoneyOut
    discount: MoneyOut
    net: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    issued_at: datetime | None
    sent_at: datetime | None
    decided_at: datetime | None
    decided_by_name: str
    decided_ip: str | None
    lines: list[QuoteLineOut]


class QuoteOut(Schema):
    id: int
    number: str
    title: str
    opportunity_id: int
    account_id: int
    owner_id: int
    contact_id: int | None
    currency: str
    language: str
    status: str
    total: MoneyOut
    version: int = Field(..., description="The current version's number")
    accepted_version: int | None
    valid_until: date | None
    created_at: datetime
    pdf_url: str
    public_url: str | None = Field(None, description="The customer's accept/decline link (approved or sent)")


class QuoteDetailOut(QuoteOut):
    versions: list[QuoteVersionOut]


class QuotePage(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[QuoteOut]
    next_cursor: str | None = Field(..., description=NEXT_CURSOR_DOC)


class QuoteFiltersIn(StrictQuery):
    status: Status | None = None
    owner_id: int | None = Field(None, ge=1)
    account_id: int | None = Field(None, ge=1)
    opportunity_id: int | None = Field(None, ge=1)
    created_from: date | None = None
    created_to: date | None = None
    q: SearchText
    sort: Literal["-created", "created", "-total", "total", "number", "-number"] = "-created"
    limit: int = Field(25, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)
