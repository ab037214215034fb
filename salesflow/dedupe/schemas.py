"""API schemas of ``/api/v1/duplicates`` (input inherits the strict bases)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from salesflow.core.keyset import CURSOR_MAX_LENGTH
from salesflow.core.schemas import COUNT_DOC, CURSOR_DOC, NEXT_CURSOR_DOC, OFFSET_DOC, StrictQuery, StrictSchema


class ReportStartIn(StrictSchema):
    min_score: float = Field(0.8, ge=0.5, le=1.0, description="Lowest score stored (0.5–1)")


class DedupeReportOut(Schema):
    id: int
    status: str = Field(..., description="pending, running, done or failed")
    total: int = Field(..., description="Records to scan")
    progress: int = Field(..., description="Records scanned")
    percent: int
    pairs_found: int
    min_score: float
    created_at: dt.datetime
    finished_at: dt.datetime | None


class ReportStatusOut(Schema):
    run: DedupeReportOut | None = Field(..., description="The newest run; null before the first")


class PairFilters(StrictQuery):
    kind: str = Field("", max_length=10, description="lead, account or contact")
    min_score: float = Field(0.0, ge=0.0, le=1.0)
    status: str = Field("open", max_length=10, description="open or dismissed")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, description=OFFSET_DOC)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)


class PairOut(Schema):
    id: int
    kind: str
    pk_a: int
    pk_b: int
    label_a: str
    label_b: str
    score: float
    reasons: list[str] = Field(..., description="in the language of the request")
    status: str
    merge_url: str

    @staticmethod
    def resolve_reasons(obj: Any) -> list[str]:
        return list(obj.reason_texts)


class PairListOut(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[PairOut]
    next_cursor: str | None = Field(..., description=NEXT_CURSOR_DOC)


class CheckQuery(StrictQuery):
    kind: str = Field(..., max_length=10, description="lead, account or contact (the new record's kind)")
    name: str = Field("", max_length=200, description="Person's name (company name for accounts)")
    company_name: str = Field("", max_length=200)
    mobile: str = Field("", max_length=40)
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    credit_code: str = Field("", max_length=30)


class DedupeCandidateOut(Schema):
    kind: str
    owner_id: int | None
    visible: bool = Field(..., description="False: the caller cannot read it; only kind and owner are given")
    id: int | None
    label: str
    score: float | None
    reasons: list[str]


class CheckOut(Schema):
    candidates: list[DedupeCandidateOut]
