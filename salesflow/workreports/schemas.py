"""API schemas of ``/api/v1/work-reports`` (input inherits the strict bases)."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from ninja import Field, Schema

from salesflow.core.keyset import CURSOR_MAX_LENGTH
from salesflow.core.schemas import (
    COUNT_DOC,
    CURSOR_DOC,
    MULTILINE_FIELDS,
    NEXT_CURSOR_DOC,
    OFFSET_DOC,
    StrictQuery,
    StrictSchema,
)
from salesflow.workreports.models import WorkReport, WorkReportComment
from salesflow.workreports.services import TEXT_MAX_LENGTH

_TEXT = frozenset({"summary", "plans", "problems", "body"})


class ReportOpenIn(StrictSchema):
    kind: str = Field(..., max_length=10, description="daily or weekly")
    date: dt.date | None = Field(None, description="A day of the period (your local date); default today")


class ReportPatch(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = MULTILINE_FIELDS | _TEXT

    summary: str | None = Field(None, max_length=TEXT_MAX_LENGTH)
    plans: str | None = Field(None, max_length=TEXT_MAX_LENGTH, description="Plans for the next period")
    problems: str | None = Field(None, max_length=TEXT_MAX_LENGTH, description="Problems and help needed")


class WorkReportCommentIn(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = MULTILINE_FIELDS | _TEXT

    body: str = Field(..., max_length=TEXT_MAX_LENGTH)


class ReportFilters(StrictQuery):
    kind: str = Field("", max_length=10, description="daily or weekly")
    date: dt.date | None = Field(None, description="Reports whose period holds this day")
    date_from: dt.date | None = Field(None, description="Periods ending on or after this day")
    date_to: dt.date | None = Field(None, description="Periods starting on or before this day")
    user_id: int | None = Field(None, description="The author's user id")
    status: str = Field("", max_length=10, description="draft, submitted or commented")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, description=OFFSET_DOC)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)


class WorkReportUserRef(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj)


class CommentOut(Schema):
    id: int
    author: WorkReportUserRef
    body: str
    created_at: dt.datetime


class WorkReportOut(Schema):
    id: int
    author: WorkReportUserRef
    kind: str
    period_start: dt.date
    period_end: dt.date
    time_zone: str
    status: str = Field(..., description="draft, submitted or commented")
    summary: str
    plans: str
    problems: str
    facts: dict[str, Any] = Field(
        ..., description="The period's facts: live for a draft, frozen at submission (counts, lists with ids)"
    )
    submitted_at: dt.datetime | None
    manager: WorkReportUserRef | None = Field(None, description="The manager it was submitted to")
    comments: list[CommentOut]

    @staticmethod
    def resolve_comments(obj: WorkReport) -> list[WorkReportComment]:
        return list(obj.comments.all())

    @staticmethod
    def resolve_facts(obj: WorkReport, context: Any) -> dict[str, Any]:
        from salesflow.workreports.selectors import facts_of

        return facts_of(obj)


class ReportSummaryOut(Schema):
    """A report in a list: without the facts (read one report for them)."""

    id: int
    author: WorkReportUserRef
    kind: str
    period_start: dt.date
    period_end: dt.date
    status: str
    summary: str
    plans: str
    problems: str
    submitted_at: dt.datetime | None
    comment_count: int

    @staticmethod
    def resolve_comment_count(obj: WorkReport) -> int:
        return len(obj.comments.all())


class ReportListOut(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[ReportSummaryOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DOC)
