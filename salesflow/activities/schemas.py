"""API schemas for activities. Output schemas read only attributes the selectors preload."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from salesflow.activities.models import Activity
from salesflow.core.bulk import BulkIn
from salesflow.core.keyset import CURSOR_MAX_LENGTH
from salesflow.core.money import format_amount
from salesflow.core.money_schema import MoneyOut
from salesflow.core.schemas import (
    COUNT_DOC,
    CURSOR_DOC,
    NEXT_CURSOR_DOC,
    OFFSET_DOC,
    SearchText,
    StrictQuery,
    StrictSchema,
)
from salesflow.parties.models import Account
from salesflow.sales.models import Opportunity


class ActivityOut(Schema):
    id: int
    kind: str
    kind_label: str
    subject: str
    description: str
    owner_id: int
    owner_name: str
    due_at: datetime | None
    done: bool
    done_at: datetime | None
    outcome: str
    next_follow_up: date | None
    lead_id: int | None
    lead_name: str | None
    account_id: int | None
    account_name: str | None
    contact_id: int | None
    contact_name: str | None
    opportunity_id: int | None
    opportunity_name: str | None
    created_at: datetime
    updated_at: datetime
    check_in_at: datetime | None = Field(None, description="Visits: when the owner checked in")
    check_in_lat: Decimal | None = None
    check_in_lng: Decimal | None = None
    check_in_address: str = ""

    @staticmethod
    def resolve_kind_label(obj: Activity) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_owner_name(obj: Activity) -> str:
        return str(obj.owner)

    @staticmethod
    def resolve_lead_name(obj: Activity) -> str | None:
        return str(obj.lead) if obj.lead_id else None

    @staticmethod
    def resolve_account_name(obj: Activity) -> str | None:
        return str(obj.account) if obj.account_id else None

    @staticmethod
    def resolve_contact_name(obj: Activity) -> str | None:
        return str(obj.contact) if obj.contact_id else None

    @staticmethod
    def resolve_opportunity_name(obj: Activity) -> str | None:
        return str(obj.opportunity) if obj.opportunity_id else None


class ActivityIn(StrictSchema):
    kind: str = Field(..., description="call, visit, meeting, demo, email, note or task")
    subject: str
    description: str = ""
    owner_id: int | None = Field(None, description="Default: the caller. Must be a user the caller may assign.")
    due_at: datetime | None = Field(None, description="Required for tasks. With a time zone offset (e.g. +08:00 or Z).")
    done: bool | None = Field(
        None,
        description="Default: not done for a task or an activity due in the future, else done (logged now).",
    )
    outcome: str = ""
    next_follow_up: date | None = None
    lead_id: int | None = None
    account_id: int | None = None
    contact_id: int | None = None
    opportunity_id: int | None = None


class ActivityPatch(StrictSchema):
    """Only the fields sent are changed. A link id sent as ``null`` removes the link; when the
    contact or the deal changes without ``account_id``, the account becomes theirs."""

    kind: str | None = None
    subject: str | None = None
    description: str | None = None
    owner_id: int | None = None
    due_at: datetime | None = None
    done: bool | None = None
    outcome: str | None = None
    next_follow_up: date | None = None
    lead_id: int | None = None
    account_id: int | None = None
    contact_id: int | None = None
    opportunity_id: int | None = None


class CompleteIn(StrictSchema):
    outcome: str = ""
    next_follow_up: date | None = None


class ActivityFilters(StrictQuery):
    q: SearchText = Field("", description="Search in the subject")
    kind: str = ""
    done: bool | None = None
    owner_id: int | None = Field(None, description="Owner's user id")
    due_from: date | None = Field(None, description="Due on or after this local date")
    due_to: date | None = Field(None, description="Due on or before this local date")
    sort: str = Field("-created", description="created, -created, due or -due")
    lead_id: int | None = Field(None, description="Activities of this lead (must be visible)")
    account_id: int | None = Field(None, description="Activities of this account, its contacts and deals")
    contact_id: int | None = Field(None, description="Activities with this contact (must be visible)")
    opportunity_id: int | None = Field(None, description="Activities of this opportunity (must be visible)")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, description=OFFSET_DOC)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)


class ActivityListOut(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[ActivityOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DOC)


class DealOut(Schema):
    id: int
    name: str
    account_id: int
    account_name: str
    stage: str
    amount: MoneyOut
    currency: str
    next_step: str
    next_step_date: date | None

    @staticmethod
    def resolve_account_name(obj: Opportunity) -> str:
        return str(obj.account)

    @staticmethod
    def resolve_amount(obj: Opportunity) -> str:
        return format_amount(obj.amount, obj.currency)

    @staticmethod
    def resolve_stage(obj: Opportunity) -> str:
        return obj.stage.label


class ActivitySectionOut(Schema):
    total: int
    items: list[ActivityOut]


class DealSectionOut(Schema):
    total: int
    items: list[DealOut]


class RepCountOut(Schema):
    owner_id: int
    name: str
    count: int


class TeamDealOut(DealOut):
    owner_id: int
    owner_name: str
    expected_close_date: date | None
    stage_entered_at: datetime

    @staticmethod
    def resolve_owner_name(obj: Opportunity) -> str:
        return str(obj.owner)


class TeamDealSectionOut(Schema):
    total: int
    items: list[TeamDealOut]


class TeamDayOut(Schema):
    members: int
    overdue_by_rep: list[RepCountOut]
    overdue: ActivitySectionOut
    stalled: TeamDealSectionOut
    no_next_step: TeamDealSectionOut
    closing_this_month: TeamDealSectionOut
    past_close: TeamDealSectionOut
    done_today: ActivitySectionOut
    at_risk: AtRiskSectionOut


class AccountDueOut(Schema):
    id: int
    name: str
    grade: str
    next_follow_up_due: date | None
    last_follow_up_at: datetime | None
    at_risk_since: datetime | None


class AccountDueSectionOut(Schema):
    items: list[AccountDueOut]
    total: int


class AtRiskAccountOut(Schema):
    id: int
    name: str
    grade: str
    at_risk_since: datetime | None
    last_follow_up_at: datetime | None
    owner_id: int | None
    owner_name: str

    @staticmethod
    def resolve_owner_name(obj: Account) -> str:
        return "" if obj.owner_id is None else str(obj.owner)


class AtRiskSectionOut(Schema):
    items: list[AtRiskAccountOut]
    total: int


TeamDayOut.model_rebuild()


class MyDayOut(Schema):
    today: date
    accounts_due: AccountDueSectionOut | None = Field(
        None, description="The caller's accounts whose next follow-up is due today or overdue (grade frequency)"
    )
    overdue: ActivitySectionOut
    due_today: ActivitySectionOut
    follow_ups: ActivitySectionOut
    no_next_step: DealSectionOut
    past_close: DealSectionOut | None = Field(None, description="The caller's open deals past the expected close date")
    team: TeamDayOut | None = Field(
        None, description="Managers (team subtree) and assistants (delegated reps): the team's sections; else null"
    )


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


class ActivityBulkIn(BulkIn):
    action: Literal["assign", "complete", "delete"]
    owner_id: int | None = Field(None, description="assign: the new owner (a user the caller may assign)")


# --- follow-up discipline (issue 7) ------------------------------------------------------------


class CheckInIn(StrictSchema):
    lat: float | None = Field(None, description="Latitude, −90 to 90 (with lng)")
    lng: float | None = Field(None, description="Longitude, −180 to 180 (with lat)")
    address: str = Field("", description="Typed address when the position is not available (at most 300 characters)")


class PolicyOut(Schema):
    grade: str
    every_days: int
    grace_days: int


class PolicyIn(StrictSchema):
    grade: str = Field(max_length=1, description="A, B, C or D")
    every_days: int
    grace_days: int = 0


class KindConfigOut(Schema):
    kind: str
    needs_outcome: bool
    needs_next_follow_up: bool
    counts_as_follow_up: bool


class KindConfigIn(StrictSchema):
    kind: str = Field(max_length=10, description="call, visit, meeting, demo, email, note or task")
    needs_outcome: bool
    needs_next_follow_up: bool
    counts_as_follow_up: bool = True


class EscalationStepOut(Schema):
    position: int
    after_days_over: int
    action: str


class EscalationStepIn(StrictSchema):
    position: int
    after_days_over: int
    action: Literal["remind_owner", "notify_manager", "mark_at_risk"]


class FollowUpSettingsOut(Schema):
    policies: list[PolicyOut]
    kinds: list[KindConfigOut]
    steps: list[EscalationStepOut]


class CalendarFeedOut(Schema):
    url: str = Field(description="The private feed URL; shown once (only its hash is stored)")
    prefix: str
