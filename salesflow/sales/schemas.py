"""API schemas for opportunities, pipelines and their configuration data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema
from pydantic import BaseModel

from salesflow.core.bulk import BulkIn
from salesflow.core.keyset import CURSOR_MAX_LENGTH
from salesflow.core.money_schema import MoneyIn, MoneyOut
from salesflow.core.schemas import (
    COUNT_DOC,
    CURSOR_DOC,
    MULTILINE_FIELDS,
    NEXT_CURSOR_DOC,
    OFFSET_DOC,
    SearchText,
    StrictQuery,
    StrictSchema,
)
from salesflow.parties.choices import BuyingRole
from salesflow.tags.selectors import TagRef


class StageOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    name_zh: str
    position: int
    probability: int
    forecast_category: str
    kind: str
    rotting_days: int | None


class PipelineOut(Schema):
    id: int
    code: str
    name: str
    is_default: bool
    stages: list[StageOut]


class LostReasonOut(Schema):
    id: int
    code: str
    name: str


class CompetitorOut(Schema):
    id: int
    name: str
    website: str


class StageRef(Schema):
    id: int
    code: str
    name: str
    kind: str
    probability: int


class ContactRoleOut(Schema):
    contact_id: int
    name: str
    role: str


class CompetitorRef(Schema):
    id: int
    name: str


class OpportunityOut(Schema):
    id: int
    name: str
    account_id: int
    account_name: str
    owner_id: int
    owner_name: str
    pipeline_id: int
    stage: StageRef
    amount: MoneyOut
    currency: str
    probability: int
    forecast_category: str
    expected_close_date: date | None
    next_step: str
    next_step_date: date | None
    outcome: str
    lost_reason: str | None = Field(None, description="Lost reason code")
    lost_to_id: int | None
    outcome_note: str
    resume_date: date | None
    closed_at: datetime | None
    closed_on: date | None = Field(None, description="Actual close date of a won or lost deal")
    close_date: date | None = Field(
        None, description="closed_on for won and lost deals, else expected_close_date (what close_from/close_to filter)"
    )
    past_close: bool = Field(False, description="Open and its expected close date has passed")
    stage_entered_at: datetime
    stalled: bool = Field(
        description="Open and its time in stage passed the stall threshold: the stage's, or the team's 80th "
        "percentile once the team has 30 exits from the stage — whichever is smaller"
    )
    days_in_stage: int = Field(0, description="Whole days since the deal entered its stage")
    stall_threshold_days: int | None = Field(None, description="The threshold that applies (null: none)")
    stall_basis: Literal["stage", "team_p80"] | None = Field(
        None, description="stage: the stage's threshold; team_p80: the team's 80th percentile of time in the stage"
    )
    stall_sample_size: int | None = Field(
        None, description="Exits from the stage behind the team's 80th percentile (null below 30)"
    )
    description: str
    contacts: list[ContactRoleOut]
    competitors: list[CompetitorRef]
    created_at: datetime
    updated_at: datetime
    tags: list[TagRef] = Field([], description="The deal's tags (标签)")


class OpportunityTotalsOut(Schema):
    """Totals of every deal matching the filter, in the company currency (issue 6)."""

    count: int
    currency: str
    amount: str = Field(..., description="Σ amount, converted with the rate of the day")
    weighted: str = Field(..., description="Σ amount × probability / 100")
    rates: dict[str, str] = Field(default_factory=dict, description="The rate used per foreign currency")
    unconverted: dict[str, int] = Field(
        default_factory=dict, description="Deals left out of the sums for lack of a rate, per currency"
    )
    warning: str | None = None


class OpportunityPage(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[OpportunityOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DOC)
    totals: OpportunityTotalsOut | None = Field(
        None, description="Count and sums of every matching deal: with `totals=true`, first page only"
    )


class ContactRoleIn(StrictSchema):
    contact_id: int
    role: BuyingRole = BuyingRole.OTHER


class OpportunityCreateIn(StrictSchema):
    name: str = Field(..., max_length=200)
    account_id: int
    owner_id: int | None = Field(None, description="Defaults to the caller")
    pipeline: int | str | None = Field(None, description="Pipeline id or code (default pipeline if omitted)")
    stage: int | str | None = Field(None, description="Open stage id or code (first open stage if omitted)")
    amount: MoneyIn = "0"
    currency: str | None = Field(None, max_length=3)
    expected_close_date: date | None = None
    next_step: str = Field("", max_length=300)
    next_step_date: date | None = None
    description: str = ""
    contacts: list[ContactRoleIn] = []
    competitor_ids: list[int] = []


class OpportunityPatchIn(StrictSchema):
    """Only the fields sent are changed; ``contacts`` / ``competitor_ids`` replace the lists."""

    name: str | None = Field(None, max_length=200)
    amount: MoneyIn | None = None
    currency: str | None = Field(None, max_length=3)
    expected_close_date: date | None = None
    next_step: str | None = Field(None, max_length=300)
    next_step_date: date | None = None
    closed_on: date | None = Field(None, description="Won or lost deals: correct the actual close date")
    description: str | None = None
    owner_id: int | None = None
    probability: int | None = None
    forecast_category: str | None = None
    contacts: list[ContactRoleIn] | None = None
    competitor_ids: list[int] | None = None


OVERRIDE_DOC = (
    "Stage gates: when the target stage's entry criteria are unmet the move is refused with 409 and "
    "`unmet: [{id, code, label, explanation}]`; a manager over the owner or an administrator may move "
    "anyway by giving a reason (1–500 characters), audited"
)


class StageMoveIn(StrictSchema):
    stage: int | str = Field(..., description="Open stage id or code of the opportunity's pipeline")
    override_reason: str | None = Field(None, description=OVERRIDE_DOC)


class CloseIn(StrictSchema):
    outcome: Literal["won", "lost", "paused", "upgraded"]
    lost_reason: str | None = Field(None, description="Lost reason code (required when lost)")
    lost_to_id: int | None = Field(None, description="Competitor id")
    note: str = ""
    resume_date: date | None = Field(None, description="Required when paused; must be in the future")
    closed_on: date | None = Field(
        None, description="Won or lost: the actual close date (default today; not in the future)"
    )
    amount: MoneyIn | None = Field(None, description="Won: the final amount in the deal's currency (optional)")
    override_reason: str | None = Field(None, description="Won: " + OVERRIDE_DOC)


class ChangePipelineIn(StrictSchema):
    pipeline: int | str = Field(..., description="Target pipeline id or code (active, not the current one)")
    stage: int | str = Field(
        ..., description="Stage id or code of the target pipeline (open for open deals, the won/lost stage otherwise)"
    )


class ReopenIn(StrictSchema):
    stage: int | str | None = Field(None, description="Open stage id or code (default: the last open stage)")


class OpportunityFilters(StrictQuery):
    q: SearchText = ""
    stage: str | None = Field(None, max_length=100, description="Stage id or code")
    outcome: str | None = Field(None, max_length=20)
    owner_id: int | None = None
    account_id: int | None = None
    pipeline: str | None = Field(None, max_length=100, description="Pipeline id or code")
    close_from: date | None = Field(
        None, description="close_date from (actual close date of won/lost deals, else expected)"
    )
    close_to: date | None = Field(None, description="close_date up to (inclusive)")
    overdue: bool = Field(False, description="Only open deals whose expected close date has passed")
    stalled: bool = Field(False, description="Only open deals stalled now (see OpportunityOut.stalled)")
    totals: bool = Field(
        False,
        description="Also return Σ amount and Σ weighted amount of every matching deal in the company "
        "currency (one more aggregate query; ignored with a cursor)",
    )
    tag_id: int | None = Field(None, description="Only records carrying this tag")
    sort: str | None = Field(
        None, max_length=20, description="name, amount, close, created or stage; prefix - to reverse"
    )
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, description=OFFSET_DOC)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)


class StageChangeOut(Schema):
    id: int
    from_stage: StageRef | None
    to_stage: StageRef
    changed_by_id: int | None
    changed_by_name: str | None
    changed_at: datetime
    duration_seconds: int | None
    from_position: int | None = Field(None, description="The from stage's position at the time of the change")
    to_position: int | None = Field(None, description="The to stage's position at the time of the change")
    owner_id: int | None = Field(None, description="The deal's owner at the time of the change")
    owner_team_id: int | None = Field(None, description="The owner's team at the time of the change")
    amount: str | None = Field(None, description="The deal's amount at the time of the change (decimal string)")
    currency: str = ""
    probability: int | None = Field(None, description="The deal's probability in the to stage")
    is_regression: bool = Field(False, description="A move back to a lower position of the same pipeline")
    gate_overridden: bool = Field(False, description="Moved although entry criteria were unmet (manager override)")


class FieldChangeOut(Schema):
    id: int
    field: str = Field(..., description="amount, expected_close_date, probability, forecast_category, stage, owner, …")
    old_value: str = Field(
        ..., description="Text form: codes, usernames, ISO dates, decimal strings; empty at creation"
    )
    new_value: str
    currency: str = Field("", description="For amount changes: the currency of the new amount")
    changed_by_id: int | None
    changed_at: datetime


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


class OpportunityBulkIn(BulkIn):
    action: Literal["assign", "stage", "tag_add", "tag_remove", "delete"]
    owner_id: int | None = Field(None, description="assign: the new owner (a user the caller may assign)")
    stage: str | None = Field(
        None, max_length=100, description="stage: an open stage id or code of the deals' pipeline"
    )
    tag_id: int | None = Field(None, description="tag_add / tag_remove: the tag")
    override_reason: str | None = Field(
        None,
        max_length=500,
        description="stage: managers and administrators move deals whose entry criteria are unmet with this "
        "reason (audited, the owner is notified); without it such deals fail with their unmet criteria",
    )


# --- pipeline configuration (administrators; sales.config_services) ----------------------------

_CODE = r"^[-a-zA-Z0-9_]+$"
_GUIDANCE = frozenset({"guidance_en", "guidance_zh"})


class StageConfigOut(Schema):
    id: int
    code: str
    name_en: str
    name_zh: str
    position: int
    kind: str
    probability: int
    forecast_category: str
    rotting_days: int | None
    guidance_en: str
    guidance_zh: str
    is_active: bool
    is_bant_gate: bool


class PipelineConfigOut(Schema):
    id: int
    code: str
    name_en: str
    name_zh: str
    is_default: bool
    is_active: bool
    position: int
    team_ids: list[int] = Field(..., description="Teams that use it; empty: every team")
    default_for_team_ids: list[int] = Field(..., description="Teams whose new deals start in it")
    stages: list[StageConfigOut]


class PipelineCreateIn(StrictSchema):
    code: str = Field(..., max_length=50, pattern=_CODE)
    name_en: str = Field("", max_length=100)
    name_zh: str = Field("", max_length=100)
    is_active: bool = False
    is_default: bool = False
    position: int = Field(0, ge=0, le=1_000_000)
    starter_stages: bool = Field(True, description="Start with one open stage and the won and lost stages")


class PipelinePatchIn(StrictSchema):
    """Only the fields sent change; ``team_ids`` / ``default_for_team_ids`` replace the lists."""

    code: str | None = Field(None, max_length=50, pattern=_CODE)
    name_en: str | None = Field(None, max_length=100)
    name_zh: str | None = Field(None, max_length=100)
    is_active: bool | None = None
    is_default: bool | None = None
    position: int | None = Field(None, ge=0, le=1_000_000)
    team_ids: list[int] | None = Field(None, max_length=1000)
    default_for_team_ids: list[int] | None = Field(None, max_length=1000)


class PipelineCopyIn(StrictSchema):
    code: str = Field(..., max_length=50, pattern=_CODE)
    name_en: str = Field("", max_length=100)
    name_zh: str = Field("", max_length=100)
    is_active: bool | None = Field(None, description="Default: as the copied pipeline")


class StageCreateIn(StrictSchema):
    multiline_fields = MULTILINE_FIELDS | _GUIDANCE

    code: str = Field(..., max_length=50, pattern=_CODE)
    name_en: str = Field("", max_length=100)
    name_zh: str = Field("", max_length=100)
    kind: Literal["open", "won", "lost"] = "open"
    probability: int = Field(..., ge=0, le=100)
    forecast_category: Literal["pipeline", "best_case", "commit", "closed", "omitted"] = "pipeline"
    rotting_days: int | None = Field(None, ge=1, le=3650)
    guidance_en: str = Field("", max_length=2000)
    guidance_zh: str = Field("", max_length=2000)
    is_active: bool = True
    is_bant_gate: bool = False
    position: int | None = Field(None, ge=1, le=1000, description="1-based place; default: last")


class StagePatchIn(StrictSchema):
    """Only the fields sent change. ``is_active: false`` hides the stage (409 while deals sit in it)."""

    multiline_fields = MULTILINE_FIELDS | _GUIDANCE

    name_en: str | None = Field(None, max_length=100)
    name_zh: str | None = Field(None, max_length=100)
    probability: int | None = Field(None, ge=0, le=100)
    forecast_category: Literal["pipeline", "best_case", "commit", "closed", "omitted"] | None = None
    rotting_days: int | None = Field(None, ge=1, le=3650, description="null: never stalled")
    guidance_en: str | None = Field(None, max_length=2000)
    guidance_zh: str | None = Field(None, max_length=2000)
    is_active: bool | None = None
    is_bant_gate: bool | None = None


class StageReorderIn(StrictSchema):
    stage_ids: list[int] = Field(..., max_length=200, description="Every stage of the pipeline once, in the new order")


# --------------------------------------------------------------------------- stage gates


class CriterionTypeOut(Schema):
    code: str
    label: str
    help_text: str
    manual: bool = Field(..., description="Met by ticking it on the deal (a checklist item)")


class CriterionOut(Schema):
    id: int
    stage_id: int
    kind: str = Field(..., description="A criterion type code (GET /opportunities/criterion-types)")
    params: dict[str, object]
    label: str = Field(..., description="The label in the reader's language (or the type's description)")
    label_en: str
    label_zh: str
    position: int
    is_active: bool


class CriterionIn(StrictSchema):
    kind: str = Field(..., max_length=40)
    params: dict[str, object] | None = Field(
        None,
        description="fields: {fields: [amount, expected_close_date, next_step, next_step_date, description, contact]}; "
        "attachment: {kind: contract|quote|proposal|photo|other}; activity_done: {kinds: [demo, visit, …]}; "
        "the others take none",
    )
    label_en: str = Field("", max_length=200)
    label_zh: str = Field("", max_length=200)
    position: int | None = Field(None, ge=0, le=10_000)
    is_active: bool = True


class CriterionPatchIn(StrictSchema):
    kind: str | None = Field(None, max_length=40)
    params: dict[str, object] | None = None
    label_en: str | None = Field(None, max_length=200)
    label_zh: str | None = Field(None, max_length=200)
    position: int | None = Field(None, ge=0, le=10_000)
    is_active: bool | None = None


class ChecklistItemOut(Schema):
    criterion_id: int
    code: str
    label: str
    met: bool
    explanation: str
    manual: bool = Field(..., description="A checklist item: tick it with POST …/checklist/{criterion_id}")


class StageChecklistOut(Schema):
    stage: StageRef
    current: bool = Field(..., description="The deal's current stage (else the next one)")
    items: list[ChecklistItemOut]


class TickIn(StrictSchema):
    ticked: bool = True


# --- stall detection (issue 7): "where is each rep stuck" ----------------------------------------


# The matrix's rows and cells are plain pydantic models, not ninja's ``Schema``: they are
# built from keyword values (never read from ORM objects), and ``Schema`` validates every
# instance through a Python wrapper (``DjangoGetter``), ≈ 50 µs per cell, 60 ms for an
# administrator's 1,236 cells at bench scale 1.0; here pydantic-core validates them, ≈ 3 µs.
# The OpenAPI document is the same.


class StuckCellOut(BaseModel):
    stage_id: int
    stage_code: str
    count: int
    amount: str = Field(description="Value of the open deals in the company currency (exact, rate of the day)")
    unconverted: int = Field(description="Deals counted but left out of amount: no exchange rate")
    median_days: str | None = Field(description="Median whole days in the stage (a decimal string, e.g. 12.5)")
    worst_days: int | None
    stalled: int


class StuckRowOut(BaseModel):
    owner_id: int
    owner_name: str
    cells: list[StuckCellOut]


class StuckOut(Schema):
    pipeline_id: int
    currency: str
    stages: list[StageRef]
    rows: list[StuckRowOut]
    hidden: int = Field(description="People of the scope left out: no open deal in the pipeline (0 with include_empty)")
    rates: dict[str, str] = Field(description="Exchange rates used, by currency")
    unconverted: dict[str, int] = Field(description="Deals left out of the amounts for lack of a rate, by currency")


class StuckQuery(StrictQuery):
    pipeline: str | None = Field(
        None, max_length=100, description="Pipeline id or code (default: the default pipeline)"
    )
    include_empty: bool = Field(False, description="Also list the people with no open deal in the pipeline")


# --- the stall escalation ladder (administrators; sales.config_services) -------------------------


class StallStepOut(Schema):
    id: int
    after_days_stalled: int
    notify: str
    notify_label: str
    is_active: bool


class StallStepIn(StrictSchema):
    after_days_stalled: int = Field(..., ge=0, le=730, description="days a deal has been stalled")
    notify: str = Field(..., max_length=40, description="owner, manager or manager_of_manager")
    is_active: bool = True


class StallStepPatchIn(StrictSchema):
    after_days_stalled: int | None = Field(None, ge=0, le=730)
    notify: str | None = Field(None, max_length=40)
    is_active: bool | None = None
