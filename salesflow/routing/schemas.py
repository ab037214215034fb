"""API schemas of web-to-lead forms, assignment rules, first-response SLAs and a lead's
assignment history."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from ninja import Field, Schema

from salesflow.core.schemas import MULTILINE_FIELDS, StrictSchema
from salesflow.routing.models import (
    CAMPAIGN_LENGTH,
    CONSENT_LENGTH,
    MESSAGE_LENGTH,
    NAME_LENGTH,
    URL_LENGTH,
)

FORM_MULTILINE = MULTILINE_FIELDS | {"intro", "consent_text", "thank_you_message", "allowed_origins"}
FieldName = Literal["name", "company_name", "title", "mobile", "phone", "email", "wechat", "need"]


def _default_fields() -> list[FieldName]:
    return ["name", "company_name", "mobile", "email"]


def _default_required() -> list[FieldName]:
    return ["name"]


class LeadFormOut(Schema):
    id: int
    name: str
    token: str = Field(..., description="The public token: the form lives at /f/{token}/")
    public_url: str
    source_channel: str
    sub_channel: str
    campaign: str
    fields: list[str]
    required_fields: list[str]
    title: str
    intro: str
    consent_text: str
    thank_you_message: str
    redirect_url: str
    allowed_origins: list[str]
    is_active: bool
    created_at: datetime


class LeadFormIn(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = FORM_MULTILINE

    name: str = Field(..., max_length=NAME_LENGTH, examples=["官网联系表单"])
    source_channel: str = Field(..., max_length=20, examples=["inbound"])
    sub_channel: str = Field("", max_length=30, examples=["website"])
    campaign: str = Field("", max_length=CAMPAIGN_LENGTH)
    fields: list[FieldName] = Field(default_factory=_default_fields, max_length=8)
    required_fields: list[FieldName] = Field(default_factory=_default_required, max_length=8)
    title: str = Field("", max_length=NAME_LENGTH)
    intro: str = Field("", max_length=MESSAGE_LENGTH)
    consent_text: str = Field("", max_length=CONSENT_LENGTH)
    thank_you_message: str = Field("", max_length=MESSAGE_LENGTH)
    redirect_url: str = Field("", max_length=URL_LENGTH, description="http:// or https:// only")
    allowed_origins: list[str] = Field(default_factory=list, max_length=50, description="e.g. https://www.example.com")
    is_active: bool = True


class LeadFormPatch(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = FORM_MULTILINE

    name: str | None = Field(None, max_length=NAME_LENGTH)
    source_channel: str | None = Field(None, max_length=20)
    sub_channel: str | None = Field(None, max_length=30)
    campaign: str | None = Field(None, max_length=CAMPAIGN_LENGTH)
    fields: list[FieldName] | None = Field(None, max_length=8)
    required_fields: list[FieldName] | None = Field(None, max_length=8)
    title: str | None = Field(None, max_length=NAME_LENGTH)
    intro: str | None = Field(None, max_length=MESSAGE_LENGTH)
    consent_text: str | None = Field(None, max_length=CONSENT_LENGTH)
    thank_you_message: str | None = Field(None, max_length=MESSAGE_LENGTH)
    redirect_url: str | None = Field(None, max_length=URL_LENGTH)
    allowed_origins: list[str] | None = Field(None, max_length=50)
    is_active: bool | None = None


class RoutingRuleOut(Schema):
    id: int
    name: str
    position: int
    is_active: bool
    territory_id: int | None
    industry: str
    source_channel: str
    campaign_contains: str
    strategy: str = Field(..., description="user, round_robin or load_balanced")
    user_id: int | None
    team_id: int | None
    member_ids: list[int]
    capacity: int | None
    respect_working_hours: bool


class RoutingRuleIn(StrictSchema):
    name: str = Field(..., max_length=NAME_LENGTH)
    position: int | None = Field(None, ge=0, le=100_000)
    is_active: bool = True
    territory_id: int | None = None
    industry: str = Field("", max_length=30)
    source_channel: str = Field("", max_length=20)
    campaign_contains: str = Field("", max_length=CAMPAIGN_LENGTH)
    strategy: Literal["user", "round_robin", "load_balanced"]
    user_id: int | None = None
    team_id: int | None = None
    member_ids: list[int] = Field(default_factory=list, max_length=500)
    capacity: int | None = Field(None, ge=1, le=100_000)
    respect_working_hours: bool = False


class RoutingRulePatch(StrictSchema):
    name: str | None = Field(None, max_length=NAME_LENGTH)
    position: int | None = Field(None, ge=0, le=100_000)
    is_active: bool | None = None
    territory_id: int | None = None
    industry: str | None = Field(None, max_length=30)
    source_channel: str | None = Field(None, max_length=20)
    campaign_contains: str | None = Field(None, max_length=CAMPAIGN_LENGTH)
    strategy: Literal["user", "round_robin", "load_balanced"] | None = None
    user_id: int | None = None
    team_id: int | None = None
    member_ids: list[int] | None = Field(None, max_length=500)
    capacity: int | None = Field(None, ge=1, le=100_000)
    respect_working_hours: bool | None = None


class RoutingMoveIn(StrictSchema):
    direction: Literal["up", "down"]


class SlaOut(Schema):
    id: int
    source_channel: str
    sub_channel: str
    minutes: int
    is_active: bool


class SlaIn(StrictSchema):
    source_channel: str = Field(..., max_length=20)
    sub_channel: str = Field("", max_length=30)
    minutes: int = Field(..., ge=1, le=525_600)
    is_active: bool = True


class SlaPatch(StrictSchema):
    minutes: int | None = Field(None, ge=1, le=525_600)
    is_active: bool | None = None


class AssignmentOut(Schema):
    id: int
    owner_id: int | None
    previous_owner_id: int | None
    rule_id: int | None
    rule_name: str
    strategy: str = Field(..., description="user, round_robin, load_balanced, manual or routed")
    at: datetime
    by_id: int | None
    reason: str


class SlaStateOut(Schema):
    due_at: datetime
    minutes: int
    state: str = Field(..., description="due, missed, escalated or met")
    responded_at: datetime | None
    escalated_at: datetime | None


class LeadRoutingOut(Schema):
    history: list[AssignmentOut] = Field(..., description="Newest first")
    sla: SlaStateOut | None
