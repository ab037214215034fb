"""API schemas of lead scoring and data quality."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from salesflow.core.schemas import StrictSchema


class ScoringRuleOut(Schema):
    id: int
    label: str
    category: str = Field(..., description="fit, engagement or bant")
    attribute: str = Field(
        ...,
        description="industry, size, region, title, source_channel, sub_channel, activities, "
        "form_submissions or bant_known",
    )
    operator: str = Field(..., description="eq, in, contains, gte or lte")
    value: str
    window_days: int = Field(..., description="Look-back of `activities` in days")
    points: int
    is_active: bool
    position: int


class ScoringRuleIn(StrictSchema):
    label: str = Field(..., max_length=100)
    category: str = Field(..., max_length=20)
    attribute: str = Field(..., max_length=30)
    operator: str = Field(..., max_length=10)
    value: str = Field(..., max_length=300)
    window_days: int = Field(30, ge=1, le=3650)
    points: int = Field(..., ge=-1000, le=1000)
    is_active: bool = True
    position: int = Field(0, ge=0, le=100_000)


class ScoringRulePatch(StrictSchema):
    label: str | None = Field(None, max_length=100)
    category: str | None = Field(None, max_length=20)
    attribute: str | None = Field(None, max_length=30)
    operator: str | None = Field(None, max_length=10)
    value: str | None = Field(None, max_length=300)
    window_days: int | None = Field(None, ge=1, le=3650)
    points: int | None = Field(None, ge=-1000, le=1000)
    is_active: bool | None = None
    position: int | None = Field(None, ge=0, le=100_000)


class Contribution(Schema):
    rule: int
    label: str
    category: str
    points: int
    matched: bool


class LearnedOut(Schema):
    probability: float = Field(..., description="Learned probability (预测成交概率) that the lead is won")
    roc_auc: float
    brier: float
    brier_base: float
    trained_at: datetime


class ScoreOut(Schema):
    lead_id: int
    total: int | None = Field(..., description="The rule score (null: not computed yet)")
    contributions: list[Contribution]
    computed_at: datetime | None
    learned: LearnedOut | None = Field(None, description="Shown only when the learned model beats the base rate")


class QualityOut(Schema):
    kind: str
    id: int
    completeness: int = Field(..., description="Weighted share of filled fields, in percent")
    missing: list[str]
    stale: bool
    last_verified_at: datetime | None
    last_verified_by_id: int | None


def quality_payload(kind: str, record: Any, quality: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "id": record.pk,
        "completeness": quality.completeness,
        "missing": quality.missing,
        "stale": quality.stale,
        "last_verified_at": record.last_verified_at,
        "last_verified_by_id": record.last_verified_by_id,
    }
