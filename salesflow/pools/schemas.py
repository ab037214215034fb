"""API schemas of the public pools (``/api/v1/pools``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from salesflow.core.keyset import CURSOR_MAX_LENGTH
from salesflow.core.schemas import COUNT_DOC, CURSOR_DOC, NEXT_CURSOR_DOC, SearchText, StrictQuery, StrictSchema
from salesflow.pools.models import DESCRIPTION_LENGTH, MAX_CAP, MAX_DAYS, NAME_LENGTH, REASON_LENGTH

Kind = Literal["lead", "account"]


class PoolOut(Schema):
    id: int
    name: str
    description: str
    active: bool
    holds_leads: bool
    holds_accounts: bool
    protection_days: int
    position: int
    team_ids: list[int]
    lead_count: int = Field(0, description="Unowned leads waiting in the pool")
    account_count: int = Field(0, description="Unowned accounts waiting in the pool")


class PoolRecordOut(Schema):
    kind: str
    id: int = Field(..., description="The lead's or account's id")
    name: str
    company_name: str = ""
    grade: str = ""
    industry: str
    entered_at: datetime
    released_by_id: int | None
    reason: str


class PoolRecordPage(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[PoolRecordOut]
    next_cursor: str | None = Field(..., description=NEXT_CURSOR_DOC)


class PoolRecordFilters(StrictQuery):
    kind: Kind = "lead"
    grade: str = Field("", max_length=1)
    industry: str = Field("", max_length=30)
    q: SearchText
    limit: int = Field(25, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)


class ClaimIn(StrictSchema):
    kind: Kind
    record_id: int = Field(..., ge=1, le=2**63 - 1)


class ReleaseIn(StrictSchema):
    kind: Kind
    record_id: int = Field(..., ge=1, le=2**63 - 1)
    reason: str = Field(..., max_length=REASON_LENGTH, description="Why (required); kept with the pool entry")
    pool_id: int | None = Field(None, description="Default: the first pool taking the kind for the owner's team")


class ClaimedOut(Schema):
    kind: str
    id: int
    owner_id: int | None
    protected_until: datetime | None


class HoldingOut(Schema):
    kind: str
    grade: str
    held: int
    cap: int


class PoolIn(StrictSchema):
    name: str = Field(..., max_length=NAME_LENGTH)
    description: str = Field("", max_length=DESCRIPTION_LENGTH)
    active: bool = True
    holds_leads: bool = True
    holds_accounts: bool = True
    protection_days: int = Field(30, ge=0, le=MAX_DAYS)
    position: int = Field(0, ge=0, le=MAX_DAYS)
    team_ids: list[int] = Field(default_factory=list, max_length=1000)


class CapIn(StrictSchema):
    role: str = Field("", max_length=20, description="A role (admin, manager, rep, assistant), or empty with user_id")
    user_id: int | None = None
    kind: Kind
    grade: str = Field("", max_length=1, description="Accounts only: a customer grade; empty = every account")
    max_count: int = Field(..., ge=0, le=MAX_CAP)


class CapOut(Schema):
    id: int
    role: str
    user_id: int | None
    kind: str
    grade: str
    max_count: int


class RecycleRuleIn(StrictSchema):
    name: str = Field(..., max_length=NAME_LENGTH)
    kind: Kind
    grade: str = Field("", max_length=1)
    no_follow_up_days: int = Field(..., ge=1, le=MAX_DAYS)
    no_opportunity_days: int | None = Field(None, ge=0, le=MAX_DAYS, description="Accounts only")
    target_pool_id: int
    warn_days_before: int = Field(3, ge=0, le=MAX_DAYS)
    active: bool = True
    product_line_id: int | None = Field(None, description="Accounts only: a catalogue product line")


class RecycleRuleOut(Schema):
    id: int
    name: str
    kind: str
    grade: str
    no_follow_up_days: int
    no_opportunity_days: int | None
    target_pool_id: int
    warn_days_before: int
    active: bool
    product_line_id: int | None
