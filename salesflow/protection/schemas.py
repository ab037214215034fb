"""API schemas of customer protection: the known-customer list and collisions."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from ninja import Field, Schema

from salesflow.core.schemas import MULTILINE_FIELDS, SearchText, StrictQuery, StrictSchema
from salesflow.protection.models import COMPANY_NAME_LENGTH, EXTERNAL_ID_LENGTH, NOTE_LENGTH, SOURCE_LENGTH

MAX_API_ROWS = 50_000


class KnownCustomerRowIn(StrictSchema):
    company_name: str = Field(..., max_length=COMPANY_NAME_LENGTH, description="客户名称 / customer name")
    credit_code: str = Field("", max_length=40, description="统一社会信用代码 (checksum-validated)")
    phone: str = Field("", max_length=40)
    contact_name: str = Field("", max_length=100)
    owner: str = Field("", max_length=100, description="负责人: a username or display name, else kept as text")
    sales_office: str = Field("", max_length=100, description="销售处")
    external_id: str = Field(
        "", max_length=EXTERNAL_ID_LENGTH, description="The row's id in the source system (re-loading updates it)"
    )


class KnownCustomerBulkIn(StrictSchema):
    source_system: str = Field(..., min_length=1, max_length=SOURCE_LENGTH, description="e.g. ERP, 财务")
    rows: list[KnownCustomerRowIn] = Field(..., min_length=1, max_length=MAX_API_ROWS)


class RejectedRowOut(Schema):
    row: int
    field: str
    reason: str


class KnownCustomerLoadOut(Schema):
    id: int
    source_system: str
    status: str = Field(..., description="queued, running, done or failed; large lists load in the background")
    total: int
    created: int
    updated: int
    rejected: int
    errors: list[RejectedRowOut]
    created_at: datetime
    finished_at: datetime | None


class KnownCustomerOut(Schema):
    id: int
    company_name: str
    credit_code: str
    phone: str
    contact_name: str
    owner_id: int | None
    owner_name: str
    sales_office: str
    source_system: str
    external_id: str
    loaded_at: datetime
    batch_id: int | None


class KnownCustomerFilters(StrictQuery):
    q: SearchText
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class KnownCustomerPage(Schema):
    count: int
    items: list[KnownCustomerOut]


class CollisionOut(Schema):
    id: int
    status: str
    new_kind: str
    new_id: int
    existing_kind: str
    existing_id: int
    claimant_id: int
    holder_id: int
    arbiter_id: int | None = Field(..., description="null: any administrator decides")
    action: str = Field(..., description="create, import or claim")
    reasons: list[str]
    score: float
    decision: str
    direction: str
    note: str
    decided_by_id: int | None
    decided_at: datetime | None
    created_at: datetime
    may_decide: bool


class CollisionFilters(StrictQuery):
    scope: Literal["all", "decide", "mine"] = Field("all", description="decide: the ones I may decide")
    status: Literal["", "open", "decided"] = "open"
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class CollisionPage(Schema):
    count: int
    items: list[CollisionOut]


class CollisionDecideIn(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = MULTILINE_FIELDS | {"note"}

    decision: Literal["keep", "transfer", "share"]
    direction: Literal["", "to_holder", "to_claimant"] = Field(
        "", description="For transfer: to_holder (the new record) or to_claimant (the existing record)"
    )
    note: str = Field("", max_length=NOTE_LENGTH)
