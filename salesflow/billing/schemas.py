"""API schemas of payment collection and invoices (``/api/v1/billing``).

Money fields are decimal strings, or ``null`` when the caller may not see the record's money
(``billing.permissions.may_see_money``): the keys are always present."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from salesflow.billing.models import LABEL_LENGTH, NOTE_LENGTH, TERMS_LENGTH, TEXT_LENGTH
from salesflow.core.keyset import CURSOR_MAX_LENGTH
from salesflow.core.money_schema import MoneyIn, MoneyOut
from salesflow.core.schemas import COUNT_DOC, CURSOR_DOC, NEXT_CURSOR_DOC, StrictQuery, StrictSchema

Kind = Literal["contract", "order"]
ID = Field(..., ge=1, le=2**63 - 1)


class InstalmentIn(StrictSchema):
    amount: MoneyIn
    due_date: date
    label: str = Field("", max_length=LABEL_LENGTH)


class BillingPlanIn(StrictSchema):
    kind: Kind
    document_id: int = ID
    terms: str | None = Field(
        None,
        max_length=TERMS_LENGTH,
        description="“30/60/10”, “30/60/10 @ 0/60/365”, “net 30”, “12 monthly”, “100”; default: the contract's terms",
    )
    start: date | None = Field(None, description="Default: signing, start or confirmation date, else today")
    instalments: list[InstalmentIn] | None = Field(None, max_length=120, description="Instead of terms")


class InstalmentPatch(StrictSchema):
    amount: MoneyIn | None = None
    due_date: date | None = None
    label: str | None = Field(None, max_length=LABEL_LENGTH)


class BillingReasonIn(StrictSchema):
    reason: str = Field(..., max_length=TEXT_LENGTH)


class AllocationIn(StrictSchema):
    instalment_id: int = ID
    amount: MoneyIn


class AllocationsIn(StrictSchema):
    allocations: list[AllocationIn] = Field(..., max_length=120)


class PaymentIn(StrictSchema):
    amount: MoneyIn
    received_on: date
    kind: Kind | None = None
    document_id: int | None = Field(None, ge=1, le=2**63 - 1)
    account_id: int | None = Field(None, ge=1, le=2**63 - 1)
    owner_id: int | None = Field(None, ge=1, le=2**63 - 1)
    currency: str | None = Field(None, min_length=3, max_length=3)
    method: str = Field("bank_transfer", max_length=20)
    reference: str = Field("", max_length=TEXT_LENGTH)
    payer: str = Field("", max_length=TEXT_LENGTH)
    note: str = Field("", max_length=NOTE_LENGTH)
    allocate: Literal["auto", "manual", "none"] = "auto"
    allocations: list[AllocationIn] = Field(default_factory=list, max_length=120)


class InvoiceIn(StrictSchema):
    amount: MoneyIn = Field(..., description="Total including tax (价税合计)")
    tax_rate: str = Field("13", max_length=10, description="Percent, e.g. 13, 9, 6")
    invoice_type: Literal["vat_special", "vat_normal"] = "vat_normal"
    kind: Kind | None = None
    document_id: int | None = Field(None, ge=1, le=2**63 - 1)
    account_id: int | None = Field(None, ge=1, le=2**63 - 1)
    currency: str | None = Field(None, min_length=3, max_length=3)
    title: str = Field("", max_length=TEXT_LENGTH)
    buyer_tax_id: str = Field("", max_length=30)
    note: str = Field("", max_length=NOTE_LENGTH)
    payment_ids: list[int] = Field(default_factory=list, max_length=200)


class InvoicePatch(StrictSchema):
    amount: MoneyIn | None = None
    tax_rate: str | None = Field(None, max_length=10)
    invoice_type: Literal["vat_special", "vat_normal"] | None = None
    title: str | None = Field(None, max_length=TEXT_LENGTH)
    buyer_tax_id: str | None = Field(None, max_length=30)
    note: str | None = Field(None, max_length=NOTE_LENGTH)
    payment_ids: list[int] | None = Field(None, max_length=200)


class IssueIn(StrictSchema):
    issued_on: date | None = None


class InstalmentOut(Schema):
    id: int
    plan_id: int
    position: int
    label: str
    due_date: date
    status: str = Field(..., description="pending, partly_paid, paid, overdue or void (derived)")
    currency: str
    amount: MoneyOut | None
    paid: MoneyOut | None
    outstanding: MoneyOut | None
    void_reason: str


class BillingPlanOut(Schema):
    id: int
    kind: str
    document_id: int
    document_number: str
    account_id: int
    owner_id: int
    currency: str
    terms: str
    document_total: MoneyOut | None
    planned: MoneyOut | None
    instalments: list[InstalmentOut]


class AllocationOut(Schema):
    instalment_id: int
    amount: MoneyOut | None


class PaymentOut(Schema):
    id: int
    number: str
    account_id: int
    owner_id: int
    contract_id: int | None
    order_id: int | None
    currency: str
    amount: MoneyOut | None
    allocated: MoneyOut | None
    unallocated: MoneyOut | None
    overpaid: bool | None = Field(..., description="An unallocated remainder is left (null without money access)")
    received_on: date
    method: str
    reference: str
    payer: str
    note: str
    status: str
    allocations: list[AllocationOut]
    created_at: datetime


class PaymentPage(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[PaymentOut]
    next_cursor: str | None = Field(..., description=NEXT_CURSOR_DOC)


class InvoiceOut(Schema):
    id: int
    number: str
    invoice_type: str
    status: str
    account_id: int
    owner_id: int
    contract_id: int | None
    order_id: int | None
    currency: str
    title: str
    buyer_tax_id: str
    tax_rate: str | None
    net: MoneyOut | None
    tax: MoneyOut | None
    total: MoneyOut | None
    issued_on: date | None
    reverses_id: int | None
    payment_ids: list[int]
    note: str
    void_reason: str


class InvoicePage(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[InvoiceOut]
    next_cursor: str | None = Field(..., description=NEXT_CURSOR_DOC)


class ListQuery(StrictQuery):
    limit: int = Field(25, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)
    account_id: int | None = Field(None, ge=1, le=2**63 - 1)
    owner_id: int | None = Field(None, ge=1, le=2**63 - 1)
    status: str = Field("", max_length=20)


class PaymentQuery(ListQuery):
    method: str = Field("", max_length=20)
    unallocated: bool = Field(False, description="Only payments with an unallocated remainder (overpayments)")


class InvoiceQuery(ListQuery):
    invoice_type: str = Field("", max_length=20)


class AgeingQuery(StrictQuery):
    group: Literal["customer", "rep", "team"] = "customer"
    team_id: int | None = Field(None, ge=1, le=2**63 - 1)
    owner_id: int | None = Field(None, ge=1, le=2**63 - 1)
    account_id: int | None = Field(None, ge=1, le=2**63 - 1)
    currency: str = Field("", max_length=3)
    as_of: date | None = None


class AgeingRowOut(Schema):
    key: int | None
    label: str
    current: MoneyOut
    d1_30: MoneyOut
    d31_60: MoneyOut
    d61_90: MoneyOut
    d90_plus: MoneyOut
    total: MoneyOut
    unconverted: dict[str, int]


class AgeingOut(Schema):
    group: str
    as_of: date
    currency: str
    rows: list[AgeingRowOut]
    totals: AgeingRowOut
    rates: dict[str, str]
    unconverted: dict[str, int]


# --- reminder settings ---------------------------------------------------------------------------


class ReminderSettingsOut(Schema):
    payment_days_before: list[int] = Field(..., description="Days before a due date on which owners are reminded")
    payment_days_after: list[int] = Field(..., description="Days after a due date (overdue reminders)")
    renewal_reminder_days: int = Field(..., description="Days before a signed contract's end date (renewal reminder)")


class ReminderSettingsIn(StrictSchema):
    """Fields left out keep their values. Days are whole numbers: payment days 1–365 (at most
    10 each side), renewal days 1–3650; anything else is a 400 naming the field."""

    payment_days_before: list[int] | None = Field(None, max_length=10)
    payment_days_after: list[int] | None = Field(None, max_length=10)
    renewal_reminder_days: int | None = None
