"""API schemas of ``/api/v1/contracts`` (input inherits the strict bases: unknown fields,
control characters and oversized text are a 400 naming the field)."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from ninja import Field, Schema

from salesflow.core.keyset import CURSOR_MAX_LENGTH
from salesflow.core.schemas import (
    COUNT_DOC,
    CURSOR_DOC,
    MULTILINE_FIELDS,
    NEXT_CURSOR_DOC,
    OFFSET_DOC,
    StrictQuery,
    StrictSchema,
)

_TEXT = frozenset({"payment_terms", "delivery_terms", "special_clauses", "reason"})
AMOUNT_DOC = 'A decimal string (e.g. "1200.50"); numbers are accepted when exact'


class ContractLineIn(StrictSchema):
    product_id: int | None = Field(None, ge=1, description="An active product: fills code, names, unit, price, tax")
    code: str = Field("", max_length=40)
    name_zh: str = Field("", max_length=200)
    name_en: str = Field("", max_length=200)
    unit: str = Field("", max_length=20)
    quantity: str | int | float = Field("1", description="At most three decimal places")
    unit_price: str | int | float | None = Field(None, description=AMOUNT_DOC)
    discount_percent: str | int | float | None = Field(None, description="0–100, two places")
    tax_rate: str | int | float | None = Field(None, description="0–100, two places")


class TermsIn(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = MULTILINE_FIELDS | _TEXT

    start_date: dt.date | None = None
    end_date: dt.date | None = None
    payment_terms: str = Field("", max_length=5000)
    delivery_terms: str = Field("", max_length=5000)
    special_clauses: str = Field("", max_length=5000, description="Non-empty makes the terms non-standard")
    non_standard_terms: bool = False


class ContractIn(TermsIn):
    title: str = Field(..., max_length=200)
    account_id: int = Field(..., ge=1)
    opportunity_id: int | None = Field(None, ge=1)
    owner_id: int | None = Field(None, ge=1, description="Default: you")
    currency: str = Field("", max_length=3, description="Default: the company currency")
    prices_include_tax: bool = False
    lines: list[ContractLineIn] = Field(default_factory=list, max_length=200)


class FromQuoteIn(TermsIn):
    quote_id: int = Field(..., ge=1, description="An accepted quote you can see")
    title: str = Field("", max_length=200, description="Default: the quote's title")


class ContractPatch(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = MULTILINE_FIELDS | _TEXT

    title: str | None = Field(None, max_length=200)
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    payment_terms: str | None = Field(None, max_length=5000)
    delivery_terms: str | None = Field(None, max_length=5000)
    special_clauses: str | None = Field(None, max_length=5000)
    non_standard_terms: bool | None = None
    prices_include_tax: bool | None = None
    lines: list[ContractLineIn] | None = Field(None, max_length=200, description="Replaces every line")


class AmendmentIn(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = MULTILINE_FIELDS | _TEXT

    reason: str = Field(..., max_length=2000)


class AmendmentPatch(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = MULTILINE_FIELDS | _TEXT

    reason: str | None = Field(None, max_length=2000)
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    payment_terms: str | None = Field(None, max_length=5000)
    delivery_terms: str | None = Field(None, max_length=5000)
    special_clauses: str | None = Field(None, max_length=5000)
    non_standard_terms: bool | None = None
    lines: list[ContractLineIn] | None = Field(None, max_length=200, description="Replaces every line")


class TerminateIn(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = MULTILINE_FIELDS | _TEXT

    terminated_on: dt.date = Field(..., description="Not before signing or the start, not after the end date or today")
    reason: str = Field(..., max_length=2000)


class SignIn(StrictSchema):
    """The form fields of ``POST …/sign`` (``multipart/form-data``, beside the ``file`` part)."""

    signed_on: dt.date | None = Field(None, description="Required; checked after the contract is found")


class ContractFilters(StrictQuery):
    status: str = Field("", max_length=20, description="draft, pending_approval, approved, signed, expired, terminated")
    owner_id: int | None = Field(None, ge=1)
    account_id: int | None = Field(None, ge=1)
    opportunity_id: int | None = Field(None, ge=1)
    ending_within_days: int | None = Field(None, ge=0, le=3660, description="End date from today to today + N")
    q: str = Field("", max_length=200, description="Number or title contains")
    sort: str = Field("-created", max_length=20, description="created, end_date, total, number; '-' for descending")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, description=OFFSET_DOC)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)


class DiffQuery(StrictQuery):
    from_version: int | None = Field(None, ge=1, le=32767, alias="from", description="Required: a version number")
    to_version: int | None = Field(None, ge=1, le=32767, alias="to", description="Required: a version number")


class ContractUserRef(Schema):
    id: int
    name: str


class Ref(Schema):
    id: int
    name: str


class ContractLineOut(Schema):
    position: int
    product_id: int | None
    code: str
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


class ContractVersionOut(Schema):
    version: int
    number: str = Field(..., description="The change order number (BG-…); empty for version 1")
    status: str
    change_summary: str
    decision_comment: str
    terms: dict[str, Any]
    prices_include_tax: bool
    subtotal: str
    discount: str
    net: str
    tax: str
    total: str
    approved_at: dt.datetime | None
    created_at: dt.datetime
    lines: list[ContractLineOut] | None = Field(None, description="Only on a single version")


class ContractOut(Schema):
    id: int
    number: str
    title: str
    status: str
    account: Ref
    owner: ContractUserRef
    opportunity_id: int | None
    quote_id: int | None
    currency: str
    total: str
    start_date: dt.date | None
    end_date: dt.date | None
    payment_terms: str
    delivery_terms: str
    special_clauses: str
    non_standard_terms: bool
    signed_on: dt.date | None
    signed_file_id: int | None
    current_version: int | None
    renewal_opportunity_id: int | None
    terminated_on: dt.date | None = Field(None, description="Set when the contract was terminated early")
    termination_reason: str = ""
    terminated_by_id: int | None = None
    expired_on: dt.date | None = Field(None, description="The day the expiry job found its end date passed")
    created_at: dt.datetime
    url: str


class ContractDetailOut(ContractOut):
    approval_request_id: int | None = Field(None, description="The pending approval request, if any")
    decision_comment: str = Field("", description="The last rejection's comment (a draft again)")
    versions: list[ContractVersionOut]
    lines: list[ContractLineOut] = Field(..., description="The current version's lines")


class ContractListOut(Schema):
    count: int | None = Field(None, description=COUNT_DOC)
    items: list[ContractOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DOC)


class RenewOut(Schema):
    opportunity_id: int
    name: str
    amount: str
    expected_close_date: dt.date | None
