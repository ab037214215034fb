"""API schemas of tags."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from salesflow.core.schemas import StrictSchema
from salesflow.tags.choices import Colour
from salesflow.tags.models import NAME_LENGTH

TaggableKind = Literal["account", "contact", "lead", "opportunity"]


class TagOut(Schema):
    id: int
    name: str
    colour: str
    created_at: datetime
    updated_at: datetime


class TagIn(StrictSchema):
    name: str = Field(..., max_length=NAME_LENGTH, examples=["重点客户"])
    colour: Colour = Colour.BLUE


class TagPatch(StrictSchema):
    name: str | None = Field(None, max_length=NAME_LENGTH)
    colour: Colour | None = None


class TagRecordIn(StrictSchema):
    kind: TaggableKind = Field(..., description="The record kind")
    record_id: int = Field(..., description="The record's id")


class TagRecordOut(Schema):
    added: bool = Field(..., description="False when the record already carried the tag")
