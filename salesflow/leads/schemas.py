"""API schemas for leads. Choice fields are plain strings; the services check them and answer
with per-field errors, so the API and the web forms give the same messages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from salesflow.core.bulk import BulkIn
from salesflow.core.keyset import CURSOR_MAX_LENGTH
from salesflow.core.money import format_amount
from salesflow.core.money_schema import MoneyIn, MoneyOut
from salesflow.core.schemas import (
    COUNT_DOC,
    CURSOR_DOC,
    NEXT_CURSOR_DOC,
    OFFSET_DOC,
    SearchText,
    StrictQuery,
    StrictSchema,
)
from salesflow.leads.models import DisqualifyReason, Lead
from salesflow.parties.schemas import DUPLICATE_REASON_DOC  # issue 8
from salesflow.tags.selectors import TagRef, tag_refs


class LeadOut(Schema):
    id: int
    name: str
    title: str
    mobile: str
    phone: str
    email: str
    wechat: str
    company_name: str
    credit_code: str
    industry: str
    region_id: int | None
    source_channel: str
    sub_channel: str
    campaign: str
    budget_status: str
    budget_amount: MoneyOut | None
    budget_currency: str
    authority_status: str
    need: str
    timeline: date | None
    budget_evidence: str = Field("", description="How the budget is known (evidence note, 佐证说明)")
    authority_evidence: str = Field("", description="How we know we talk to the decision maker")
    timeline_evidence: str = Field("", description="How the purchase timeline is known")
    status: str
    stage: str = Field("mql", description="mql (marketing works it) or sql (handed off to sales)")
    handed_off_by_id: int | None = Field(None, description="Who handed the lead off to sales (null: not yet)")
    handed_off_at: datetime | None = None
    hand_off_note: str = ""
    score: int = Field(0, description="The rule score's total (lead score 线索评分); see /leads/{id}/score")
    last_verified_at: datetime | None = None
    last_verified_by_id: int | None = None
    owner_id: int | None
    owner_name: str | None = Field(None, description="Display name of the owner (null when unassigned)")
    disqualify_reason: str | None = Field(None, description="Code of the disqualify reason")
    disqualify_note: str
    notes: str
    bant_missing: list[str]
    converted_at: datetime | None
    converted_account_id: int | None
    converted_contact_id: int | None
    converted_opportunity_id: int | None
    created_at: datetime
    updated_at: datetime
    tags: list[TagRef] = Field([], description="The record's tags (标签)")

    @staticmethod
    def resolve_tags(obj: Lead) -> list[TagRef]:
        return tag_refs(obj)

    @staticmethod
    def resolve_owner_name(obj: Lead) -> str | None:
        return str(obj.owner) if obj.owner_id is not None and obj.owner is not None else None

    @staticmethod
    def resolve_budget_amount(obj: Lead) -> str | None:
        return None if obj.budget_amount is None else format_amount(obj.budget_amount, obj.budget_currency)

    @staticmethod
    def resolve_disqualify_reason(obj: Lead) -> str | None:
        reason = obj.disqualify_reason if obj.disqualify_reason_id is not None else None
        return reason.code if reason is not None else None


class LeadListOut(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[LeadOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DOC)


class LeadListQuery(StrictQuery):
    q: SearchText = Field("", description="Search in name, company, mobile, phone, email and credit code")
    status: str = Field("", description="new, contacted, qualified, disqualified, converted or open")
    source_channel: str = ""
    owner_id: str = Field("", max_length=20, description="A user id, `me` or `none` (unassigned)")
    tag_id: int | None = Field(None, description="Only records carrying this tag")
    stage: str = Field("", description="mql or sql (hand-off stage)")
    sla: str = Field(
        "",
        max_length=20,
        description="First response (routing): waiting (clock running), overdue (past due, no response), "
        "missed (escalated to the manager) or met (answered in time)",
    )
    sort: str = Field("-created", description="created, name, company, status or score; prefix `-` for descending")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, description=OFFSET_DOC)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)


class LeadIn(StrictSchema):
    """A new lead. Leaving ``owner_id`` out makes the caller the owner; ``null`` leaves it
    unassigned (managers and administrators only)."""

    name: str
    source_channel: str
    owner_id: int | None = None
    title: str = ""
    mobile: str = ""
    phone: str = ""
    email: str = ""
    wechat: str = ""
    company_name: str = ""
    credit_code: str = ""
    industry: str = ""
    region_id: int | None = None
    sub_channel: str = ""
    campaign: str = ""
    budget_status: str = "unknown"
    budget_amount: MoneyIn | None = None
    budget_currency: str | None = Field(None, max_length=3, description="Default: the company currency")
    authority_status: str = "unknown"
    need: str = ""
    timeline: date | None = None
    notes: str = ""
    duplicate_reason: str | None = Field(None, max_length=2000, description=DUPLICATE_REASON_DOC)  # issue 8


class LeadPatch(StrictSchema):
    """Fields to change; fields left out keep their values."""

    name: str | None = None
    source_channel: str | None = None
    owner_id: int | None = None
    title: str | None = None
    mobile: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat: str | None = None
    company_name: str | None = None
    credit_code: str | None = None
    industry: str | None = None
    region_id: int | None = None
    sub_channel: str | None = None
    campaign: str | None = None
    budget_status: str | None = None
    budget_amount: MoneyIn | None = None
    budget_currency: str | None = Field(None, max_length=3)
    authority_status: str | None = None
    need: str | None = None
    timeline: date | None = None
    notes: str | None = None
    duplicate_reason: str | None = Field(None, max_length=2000, description=DUPLICATE_REASON_DOC)  # issue 8


class QualifyIn(StrictSchema):
    """BANT answers to record before qualifying; left-out answers keep their stored value."""

    budget_status: str | None = None
    budget_amount: MoneyIn | None = None
    authority_status: str | None = None
    need: str | None = None
    timeline: date | None = None
    budget_evidence: str | None = Field(None, description="Evidence note for the budget (at most 500 characters)")
    authority_evidence: str | None = Field(None, description="Evidence note for the decision maker")
    timeline_evidence: str | None = Field(None, description="Evidence note for the timeline")


class LeadHandOffIn(StrictSchema):
    """An MQL → SQL hand-off (移交)."""

    note: str = Field("", description="Why the lead is ready for sales (at most 500 characters)")


class DisqualifyIn(StrictSchema):
    reason: str = Field(..., description="Code of an active disqualify reason (see /leads/disqualify-reasons)")
    note: str = ""


class ConvertIn(StrictSchema):
    account_id: int | None = Field(None, description="Link this existing account instead of creating one")
    create_contact: bool = True
    contact_role: str | None = Field(None, description="Buying role; default decision_maker when authority is yes")
    create_opportunity: bool = True
    opportunity_name: str = ""
    amount: MoneyIn | None = Field(None, description="In the budget's currency. Default: the lead's budget")
    expected_close_date: date | None = Field(None, description="Default: the lead's purchase timeline")
    stage_id: int | None = Field(
        None, description="Open stage to start in; default: first stage of the default pipeline"
    )
    pipeline: int | str | None = Field(
        None,
        description="Pipeline id or code (one the owner's team uses); default: the stage's, else the owner's default",
    )


class ConvertOut(Schema):
    lead_id: int
    account_id: int
    account_created: bool
    contact_id: int | None
    contact_created: bool
    opportunity_id: int | None


class DisqualifyReasonOut(Schema):
    code: str
    name: str = Field(..., description="The name in the request's language")
    name_en: str
    name_zh: str

    @staticmethod
    def resolve_name(obj: DisqualifyReason) -> str:
        return obj.label


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


class LeadBulkIn(BulkIn):
    action: Literal["assign", "contacted", "disqualify", "reopen", "tag_add", "tag_remove", "delete"]
    owner_id: int | None = Field(None, description="assign: the new owner (a user the caller may assign)")
    reason: str | None = Field(None, max_length=50, description="disqualify: a disqualify reason code")
    tag_id: int | None = Field(None, description="tag_add / tag_remove: the tag")
