"""API schemas of sales plans and targets (``/api/v1/plans``). Values are decimal strings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from salesflow.core.money_schema import MoneyIn
from salesflow.core.schemas import StrictQuery, StrictSchema
from salesflow.targets.models import NOTE_LENGTH

KEY = Field(..., min_length=1, max_length=40)


class TargetPlanIn(StrictSchema):
    year: int = Field(..., ge=2000, le=2100)


class TargetVersionOut(Schema):
    version_id: int
    plan_id: int
    year: int
    number: int
    status: str
    approval_request_id: int | None
    submitted_by_id: int | None
    approved_by_id: int | None
    submitted_at: datetime | None
    approved_at: datetime | None
    product_strategy: str
    price_strategy: str
    channel_strategy: str
    promotion_strategy: str
    seasonality: dict[str, list[int]]


class TargetPlanOut(Schema):
    plan_id: int
    year: int
    versions: list[TargetVersionOut]


class NotesIn(StrictSchema):
    product_strategy: str | None = Field(None, max_length=NOTE_LENGTH)
    price_strategy: str | None = Field(None, max_length=NOTE_LENGTH)
    channel_strategy: str | None = Field(None, max_length=NOTE_LENGTH)
    promotion_strategy: str | None = Field(None, max_length=NOTE_LENGTH)


class CellIn(StrictSchema):
    node: str = KEY
    period: str = KEY
    value: MoneyIn | None = Field(None, description="null removes the cell; counts must be whole")


class TargetsIn(StrictSchema):
    metric: str = KEY
    cells: list[CellIn] = Field(..., max_length=5000)


class AllocateIn(StrictSchema):
    metric: str = KEY
    node: str = KEY
    period: str = KEY
    along: Literal["periods", "org"] = "periods"
    basis: Literal["equal", "last_year"] = "last_year"
    cascade: bool = False


class SeasonalityIn(StrictSchema):
    node: str = KEY
    weights: list[int] | None = Field(None, min_length=12, max_length=12, description="null: from last year's actuals")
    metric: str = Field("won_revenue", min_length=1, max_length=40)


class TargetCommentIn(StrictSchema):
    comment: str = Field("", max_length=1000)


class TargetQuery(StrictQuery):
    metric: str = Field("won_revenue", max_length=40)


class TargetOut(Schema):
    metric: str
    node: str
    period: str
    value: str
    rollup: str | None = Field(None, description="Sum of the child nodes' targets, when all have one")
    differs: bool = Field(False, description="True when the roll-up differs from the node's own target")


class AttainmentOut(Schema):
    metric: str
    node: str
    node_label: str
    period: str
    target: str | None
    actual: str | None
    ratio: str | None
    expected: str | None
    gap: str | None
    projection: str | None
    missing_rates: list[str]


class AttainmentPage(Schema):
    node: str
    period: str
    metrics: list[AttainmentOut]
    children: list[AttainmentOut]


class LeaderboardRow(Schema):
    rank: int
    user_id: int
    name: str
    target: str | None
    actual: str | None
    ratio: str | None


class LeaderboardOut(Schema):
    team_id: int
    metric: str
    period: str
    rows: list[LeaderboardRow]
