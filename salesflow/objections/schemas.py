"""API schemas of the objection library and of the objections logged on deals."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from ninja import Field, Schema

from salesflow.core.schemas import MULTILINE_FIELDS, SearchText, StrictQuery, StrictSchema
from salesflow.objections.models import ANSWER_TEXT_LENGTH, NOTE_LENGTH, OBJECTION_TEXT_LENGTH, PRODUCT_LINE_LENGTH

ANSWER_MULTILINE = MULTILINE_FIELDS | {"text_zh", "text_en", "custom_answer"}


class WinRateOut(Schema):
    won: int = Field(..., description="Distinct deals won now where the answer was used")
    lost: int = Field(..., description="Distinct deals lost now where the answer was used")
    deals: int = Field(..., description="won + lost")
    percent: int | None = Field(..., description="Win rate in percent; null before any closed deal")
    enough: bool = Field(..., description="False below the minimum sample (5 deals): not enough to judge")


class ObjectionCategoryOut(Schema):
    id: int
    code: str
    name_en: str
    name_zh: str


class AnswerOut(Schema):
    id: int
    objection_id: int
    text_zh: str
    text_en: str
    position: int
    is_active: bool
    status: str = Field(..., description="approved, or suggested (waiting for a manager)")
    author_id: int | None
    win_rate: WinRateOut


class ObjectionOut(Schema):
    id: int
    category: ObjectionCategoryOut
    stage_id: int | None
    product_line: str = Field(..., description="Free text until the product catalogue exists; empty: any product")
    text_zh: str
    text_en: str
    is_active: bool
    answers: list[AnswerOut] = Field(..., description="Answers you may see, best win rate first")


class ObjectionPage(Schema):
    count: int
    items: list[ObjectionOut]


class ObjectionFilters(StrictQuery):
    q: SearchText
    category_id: int | None = None
    stage_id: int | None = Field(None, description="Objections of this stage (and those of any stage)")
    limit: int = Field(25, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)


class ObjectionIn(StrictSchema):
    category_id: int
    stage_id: int | None = None
    product_line: str = Field("", max_length=PRODUCT_LINE_LENGTH)
    text_zh: str = Field("", max_length=OBJECTION_TEXT_LENGTH, examples=["价格太高了。"])
    text_en: str = Field("", max_length=OBJECTION_TEXT_LENGTH, examples=["Your price is too high."])


class ObjectionPatch(StrictSchema):
    category_id: int | None = None
    stage_id: int | None = None
    product_line: str | None = Field(None, max_length=PRODUCT_LINE_LENGTH)
    text_zh: str | None = Field(None, max_length=OBJECTION_TEXT_LENGTH)
    text_en: str | None = Field(None, max_length=OBJECTION_TEXT_LENGTH)
    is_active: bool | None = None


class AnswerIn(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = ANSWER_MULTILINE

    text_zh: str = Field("", max_length=ANSWER_TEXT_LENGTH)
    text_en: str = Field("", max_length=ANSWER_TEXT_LENGTH)


class AnswerPatch(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = ANSWER_MULTILINE

    text_zh: str | None = Field(None, max_length=ANSWER_TEXT_LENGTH)
    text_en: str | None = Field(None, max_length=ANSWER_TEXT_LENGTH)
    position: int | None = Field(None, ge=0, le=10_000)
    is_active: bool | None = None
    status: Literal["approved", "suggested"] | None = None


class DealObjectionOut(Schema):
    id: int
    opportunity_id: int
    objection_id: int
    objection_text_zh: str
    objection_text_en: str
    answer_id: int | None
    answer_win_rate: WinRateOut | None
    custom_answer: str
    note: str
    stage_id: int | None
    logged_by_id: int | None
    logged_at: datetime


class DealObjectionIn(StrictSchema):
    multiline_fields: ClassVar[frozenset[str]] = ANSWER_MULTILINE

    objection_id: int
    answer_id: int | None = None
    custom_answer: str = Field("", max_length=ANSWER_TEXT_LENGTH)
    note: str = Field("", max_length=NOTE_LENGTH)
