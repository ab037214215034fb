"""API schemas of commissions (``/api/v1/commissions``). Money and rates are decimal strings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from salesflow.commissions.models import MAX_TIERS, NAME_LENGTH, NOTES_LENGTH
from salesflow.core.schemas import StrictQuery, StrictSchema

ID = Field(..., ge=1, le=2**63 - 1)
DECIMAL = Field(..., max_length=20, pattern=r"^[0-9]{1,9}(\.[0-9]{1,3})?$")
RoleKey = Literal["", "admin", "manager", "rep", "assistant", "support"]


class CommissionTierIn(StrictSchema):
    threshold: str = Field(..., max_length=20, description='Attainment in percent, e.g. "100" or "120.5"')
    multiplier: str = Field(..., max_length=20, description='Rate multiplier above it, e.g. "1.5"')


class CommissionTierOut(Schema):
    threshold: str
    multiplier: str


class CommissionPlanIn(StrictSchema):
    name: str = Field(..., max_length=NAME_LENGTH)
    valid_from: date
    valid_to: date
    active: bool = True
    notes: str = Field("", max_length=NOTES_LENGTH)


class PlanPatch(StrictSchema):
    name: str | None = Field(None, max_length=NAME_LENGTH)
    valid_from: date | None = None
    valid_to: date | None = None
    active: bool | None = None
    notes: str | None = Field(None, max_length=NOTES_LENGTH)


class CommissionRuleIn(StrictSchema):
    name: str = Field(..., max_length=NAME_LENGTH)
    basis: Literal["won", "collected"]
    role: RoleKey = ""
    product_line_id: int | None = Field(None, ge=1, le=2**63 - 1)
    rate: str = Field(..., max_length=20, description='Base rate in percent, e.g. "3" or "2.5"')
    tiers: list[CommissionTierIn] = Field(default_factory=list, max_length=MAX_TIERS)


class CommissionRulePatch(StrictSchema):
    name: str | None = Field(None, max_length=NAME_LENGTH)
    role: RoleKey | None = None
    product_line_id: int | None = Field(None, ge=0, le=2**63 - 1, description="0 clears the product line")
    rate: str | None = Field(None, max_length=20)
    tiers: list[CommissionTierIn] | None = Field(None, max_length=MAX_TIERS)


class CommissionRuleOut(Schema):
    id: int
    plan_id: int
    name: str
    basis: str
    role: str
    product_line_id: int | None
    rate: str
    tiers: list[CommissionTierOut]


class CommissionPlanOut(Schema):
    id: int
    name: str
    valid_from: date
    valid_to: date
    active: bool
    notes: str
    rules: list[CommissionRuleOut]


class GenerateIn(StrictSchema):
    rep_id: int = ID
    period: str = Field(..., max_length=12, description="A month (2026-11) or a quarter (2026-Q4)")


class ComputeIn(StrictSchema):
    period: str = Field(..., max_length=12, description="A month (2026-11) or a quarter (2026-Q4)")


class ComputeRunOut(Schema):
    run_id: int
    period: str
    status: str = Field(..., description="queued, running or done")
    total: int = Field(..., description="People to compute")
    done: int = Field(..., description="People computed so far")
    made: int = Field(..., description="Statements computed")
    failures: list[str] = Field(..., description="The first people who could not be computed, with the reason")


class CommissionReasonIn(StrictSchema):
    reason: str = Field("", max_length=500)


class StatementQuery(StrictQuery):
    period: str = Field("", max_length=12)
    rep_id: int = Field(0, ge=0, le=2**63 - 1)
    status: Literal["", "draft", "submitted", "approved", "locked"] = ""
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=100_000)


class CommissionLineOut(Schema):
    id: int
    kind: str
    opportunity_id: int | None
    payment_id: int | None
    reference: str
    day: date
    rule_id: int | None
    rule_name: str
    product_line_id: int | None
    source_amount: str
    source_currency: str
    basis: str
    rate: str
    multiplier: str
    threshold: str
    commission: str


class StatementOut(Schema):
    id: int
    rep_id: int
    rep_name: str
    period: str
    sequence: int
    corrects_id: int | None
    plan_id: int
    status: str
    currency: str
    basis_total: str
    commission_total: str
    attainment: dict[str, dict[str, str | None]]
    missing_rates: list[str]
    computed_at: datetime | None
    approved_by_id: int | None
    approved_at: datetime | None
    locked_at: datetime | None


class StatementDetailOut(StatementOut):
    lines: list[CommissionLineOut]


class StatementPage(Schema):
    count: int
    items: list[StatementOut]
