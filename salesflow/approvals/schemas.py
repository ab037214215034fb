"""API schemas of the approval engine (``/api/v1/approvals``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from ninja import Field, Schema

from salesflow.approvals.models import COMMENT_LENGTH, MAX_HOURS, MAX_LEVELS, NAME_LENGTH
from salesflow.core.keyset import CURSOR_MAX_LENGTH
from salesflow.core.schemas import COUNT_DOC, CURSOR_DOC, MULTILINE_FIELDS, NEXT_CURSOR_DOC, StrictQuery, StrictSchema

Box = Literal["pending", "decided", "mine"]
ConditionValue = str | int | bool | list[str | int] | None


class InboxFilters(StrictQuery):
    box: Box = Field("pending", description="pending: waiting for me (or whom I stand in for); decided: by me; mine")
    limit: int = Field(25, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)


class RequestOut(Schema):
    id: int
    kind: str
    object_id: int
    summary: str
    status: str
    current_step: int = Field(
        ..., description="Position of the step waiting for a decision; 0: returned to the requester"
    )
    requester_id: int
    rule_name: str
    submitted_at: datetime
    decided_at: datetime | None


class RequestPage(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[RequestOut]
    next_cursor: str | None = Field(..., description=NEXT_CURSOR_DOC)


class ApproverOut(Schema):
    user_id: int
    name: str
    decision: str
    decided_at: datetime | None
    escalated_from_user_id: int | None


class StepOut(Schema):
    position: int
    name: str
    approver_type: str
    mode: str
    status: str
    fallback: bool
    entered_at: datetime | None
    approvers: list[ApproverOut]


class ActionOut(Schema):
    action: str
    step: int
    actor_id: int | None
    actor: str
    on_behalf_of_id: int | None
    comment: str
    to_step: int | None
    created_at: datetime


class AllowedOut(Schema):
    decide: bool
    on_behalf_of_id: int | None
    return_to: list[int]
    withdraw: bool
    resubmit: bool


class RequestDetailOut(RequestOut):
    facts: dict[str, Any]
    document_url: str
    steps: list[StepOut]
    actions: list[ActionOut]
    allowed: AllowedOut


class DecisionIn(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = MULTILINE_FIELDS | {"comment"}
    comment: str = Field("", max_length=COMMENT_LENGTH)
    step: int | None = Field(None, ge=1, le=100, description="The step you decide (409 when it is no longer current)")


class RejectIn(DecisionIn):
    comment: str = Field(..., min_length=1, max_length=COMMENT_LENGTH)


class ReturnIn(DecisionIn):
    comment: str = Field(..., min_length=1, max_length=COMMENT_LENGTH)
    to_step: int = Field(..., ge=0, le=100, description="An earlier step; 0 returns the request to the requester")


class ResubmitIn(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = MULTILINE_FIELDS | {"comment"}
    comment: str = Field("", max_length=COMMENT_LENGTH)


class EmptyIn(StrictSchema):
    pass


class ConditionIn(StrictSchema):
    fact: str = Field(..., max_length=40)
    operator: str = Field(..., max_length=10)
    value: ConditionValue = None


class RuleStepIn(StrictSchema):
    name: str = Field(..., min_length=1, max_length=NAME_LENGTH)
    approver_type: Literal["users", "manager_chain", "role", "team_role"]
    user_ids: list[int] = Field(default_factory=list, max_length=20)
    levels: int = Field(1, ge=1, le=MAX_LEVELS)
    role: str = Field("", max_length=20)
    mode: Literal["any", "all"] = "any"


class ApprovalRuleIn(StrictSchema):
    kind: str = Field(..., max_length=60, description="The approvable kind, e.g. quotes.quote, sales.opportunity")
    name: str = Field(..., min_length=1, max_length=NAME_LENGTH)
    priority: int = Field(100, ge=0, le=10_000)
    active: bool = True
    remind_after_hours: int = Field(24, ge=0, le=MAX_HOURS)
    escalate_after_hours: int = Field(72, ge=0, le=MAX_HOURS)
    conditions: list[ConditionIn] = Field(default_factory=list, max_length=20)
    steps: list[RuleStepIn] = Field(..., min_length=1, max_length=10)


class RulePatchIn(StrictSchema):
    """A partial change: fields left out keep their value; ``conditions`` / ``steps``, when
    given, replace the rule's as a whole."""

    kind: str | None = Field(None, max_length=60)
    name: str | None = Field(None, min_length=1, max_length=NAME_LENGTH)
    priority: int | None = Field(None, ge=0, le=10_000)
    active: bool | None = None
    remind_after_hours: int | None = Field(None, ge=0, le=MAX_HOURS)
    escalate_after_hours: int | None = Field(None, ge=0, le=MAX_HOURS)
    conditions: list[ConditionIn] | None = Field(None, max_length=20)
    steps: list[RuleStepIn] | None = Field(None, min_length=1, max_length=10)


class ConditionOut(Schema):
    fact: str
    operator: str
    value: Any


class RuleStepOut(Schema):
    position: int
    name: str
    approver_type: str
    user_ids: list[int]
    levels: int
    role: str
    mode: str


class ApprovalRuleOut(Schema):
    id: int
    kind: str
    name: str
    priority: int
    active: bool
    remind_after_hours: int
    escalate_after_hours: int
    conditions: list[ConditionOut]
    steps: list[RuleStepOut]


class DelegationIn(StrictSchema):
    user_id: int | None = Field(None, ge=1, description="The approver who is away (default: yourself)")
    delegate_id: int = Field(..., ge=1)
    starts_on: date
    ends_on: date
    note: str = Field("", max_length=200)


class DelegationPatchIn(StrictSchema):
    delegate_id: int | None = Field(None, ge=1)
    starts_on: date | None = None
    ends_on: date | None = None
    note: str | None = Field(None, max_length=200)


class DelegationOut(Schema):
    id: int
    user_id: int
    delegate_id: int
    starts_on: date
    ends_on: date
    note: str


class SubmissionOut(Schema):
    status: str
    request_id: int | None
    steps: list[str]
