"""API schemas of the orders app (``/api/v1/orders``). Quantities and amounts travel as
decimal strings (quantities: at most three places); input quantities may also be integers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import StrictInt, model_validator

from salesflow.core.keyset import CURSOR_MAX_LENGTH
from salesflow.core.money_schema import MoneyOut
from salesflow.core.schemas import COUNT_DOC, CURSOR_DOC, NEXT_CURSOR_DOC, OFFSET_DOC, StrictQuery, StrictSchema
from salesflow.orders.services import NOTE_LENGTH, REASON_LENGTH

INT_MAX = 2**63 - 1
Id = Annotated[StrictInt, Field(..., ge=1, le=INT_MAX)]
QuantityIn = Annotated[
    str | StrictInt,
    Field(..., description='A quantity as a decimal string with at most three places ("2.5"), or an integer'),
]
StatusName = Literal["draft", "confirmed", "partly_delivered", "delivered", "accepted", "cancelled"]
FulfilmentName = Literal["not_started", "in_production", "ready_to_ship", "shipped"]
SortName = Literal["created", "-created", "expected_date", "-expected_date", "total", "-total", "number", "-number"]


class OrderFilters(StrictQuery):
    status: StatusName | None = None
    fulfilment_status: FulfilmentName | None = None
    owner_id: int | None = Field(None, ge=1, le=INT_MAX)
    account_id: int | None = Field(None, ge=1, le=INT_MAX)
    expected_from: date | None = Field(None, description="Expected date on or after (ISO date)")
    expected_to: date | None = Field(None, description="Expected date on or before (ISO date)")
    q: str = Field("", max_length=30, description="Part of the order number")
    sort: SortName = "-created"
    limit: int = Field(25, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000, description=OFFSET_DOC)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)


class OrderLineOut(Schema):
    id: int
    position: int
    product_id: int | None
    code: str
    name_zh: str
    name_en: str
    unit: str
    quantity: str
    delivered_quantity: str
    open_quantity: str
    unit_price: MoneyOut
    discount_percent: str
    tax_rate: str
    gross: MoneyOut
    discount: MoneyOut
    net: MoneyOut
    tax: MoneyOut
    total: MoneyOut


class DeliveryLineOut(Schema):
    order_line_id: int
    quantity: str


class DeliveryOut(Schema):
    id: int
    number: str
    order_id: int
    status: str = Field(..., description="recorded or voided")
    delivered_on: date
    note: str
    lines: list[DeliveryLineOut]
    created_by_id: int | None
    created_at: datetime
    voided_at: datetime | None
    void_reason: str
    installed_on: date | None
    installation_note: str
    installation_attachment_id: int | None


class OrderOut(Schema):
    id: int
    number: str
    status: str = Field(
        ...,
        description="Derived from the deliveries: draft, confirmed, partly_delivered, delivered, accepted, cancelled",
    )
    fulfilment_status: str
    expected_date: date | None
    account_id: int
    account_name: str
    owner_id: int
    owner_name: str
    opportunity_id: int | None
    contract_id: int | None
    quote_id: int | None
    currency: str
    prices_include_tax: bool
    subtotal: MoneyOut
    discount: MoneyOut
    net: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str
    accepted_on: date | None
    acceptance_note: str
    acceptance_attachment_id: int | None
    created_at: datetime


class OrderDetailOut(OrderOut):
    lines: list[OrderLineOut]
    deliveries: list[DeliveryOut]


class OrderPage(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[OrderOut]
    next_cursor: str | None = Field(..., description=NEXT_CURSOR_DOC)


class OrderCreateIn(StrictSchema):
    contract_id: StrictInt | None = Field(None, ge=1, le=INT_MAX, description="A signed contract")
    quote_id: StrictInt | None = Field(None, ge=1, le=INT_MAX, description="An accepted quote (no contract needed)")

    @model_validator(mode="after")
    def _one_source(self) -> OrderCreateIn:
        if (self.contract_id is None) == (self.quote_id is None):
            raise ValueError("Give exactly one of contract_id and quote_id.")
        return self


class LineUpdateIn(StrictSchema):
    quantity: QuantityIn | None = None
    unit_price: str | None = Field(None, max_length=40, description="Decimal string")
    discount_percent: str | None = Field(None, max_length=10, description="Percent, 0–100, two places")
    tax_rate: str | None = Field(None, max_length=10, description="Percent, 0–100, two places")


class OrderHandOffIn(StrictSchema):
    fulfilment_status: FulfilmentName | None = Field(None, description="Left out: unchanged")
    expected_date: date | None = Field(None, description="ISO date; null clears it; left out: unchanged")
    note: str = Field("", max_length=NOTE_LENGTH)


class DeliveryLineIn(StrictSchema):
    order_line_id: Id
    quantity: QuantityIn


class DeliveryIn(StrictSchema):
    delivered_on: date
    note: str = Field("", max_length=NOTE_LENGTH)
    lines: list[DeliveryLineIn] = Field(..., min_length=1, max_length=500)


class OrderReasonIn(StrictSchema):
    reason: str = Field(..., max_length=REASON_LENGTH)


_PROOF_DOC = "A file already attached to the order (upload it with POST /api/v1/attachments, record_kind=order)"


class AcceptanceIn(StrictSchema):
    accepted_on: date
    attachment_id: Id = Field(..., description=_PROOF_DOC)
    note: str = Field("", max_length=NOTE_LENGTH)


class InstallationIn(StrictSchema):
    installed_on: date
    attachment_id: Id = Field(..., description=_PROOF_DOC)
    note: str = Field("", max_length=NOTE_LENGTH)
