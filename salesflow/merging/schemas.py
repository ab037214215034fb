"""API schemas of access requests and merges."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from ninja import Field, Schema

from salesflow.core.schemas import MULTILINE_FIELDS, StrictQuery, StrictSchema
from salesflow.merging.models import MESSAGE_LENGTH

Kind = Literal["lead", "account", "contact"]


class AccessRequestIn(StrictSchema):
    """Ask the owner of a record (a possible duplicate) for access."""

    multiline_fields: ClassVar[frozenset[str]] = MULTILINE_FIELDS | {"message"}

    kind: Kind
    object_id: int = Field(..., ge=1)
    access: Literal["read", "write"] = "read"
    message: str = Field("", max_length=MESSAGE_LENGTH)


class AccessRequestOut(Schema):
    id: int
    kind: str
    object_id: int
    requester_id: int
    owner_id: int | None
    access: str
    message: str
    status: str = Field(..., description="pending, granted or declined")
    decided_by_id: int | None
    decided_at: datetime | None
    created_at: datetime


class AccessRequestFilters(StrictQuery):
    box: Literal["to_me", "mine"] = Field("to_me", description="to_me: requests I decide; mine: my own")
    status: Literal["pending", "granted", "declined"] | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class AccessRequestPage(Schema):
    count: int
    items: list[AccessRequestOut]


class MergeIn(StrictSchema):
    """Merge ``loser_id`` into ``survivor_id``; ``field_choices`` picks, per field, whose value stays."""

    kind: Kind
    survivor_id: int = Field(..., ge=1)
    loser_id: int = Field(..., ge=1)
    field_choices: dict[str, Literal["survivor", "loser"]] = Field(
        default_factory=dict, description="Field name → survivor or loser; fields left out keep the survivor's value"
    )


class MergeOut(Schema):
    id: int
    kind: str
    survivor_id: int
    loser_id: int
    loser_label: str
    actor_id: int | None
    created_at: datetime
    undone_at: datetime | None
    undone_by_id: int | None
    moved: int = Field(..., description="Related rows moved from the merged record")
    dropped: int = Field(..., description="Related rows removed because the survivor already had an equal one")
    changed_fields: list[str]


class MergeCandidateOut(Schema):
    kind: str
    id: int
    score: float
    reasons: list[str]
    owner: str | None
    visible: bool
    writable: bool
    label: str | None
    url: str | None
