from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from salesflow.core.schemas import StrictSchema


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    role: str
    team_id: int | None
    time_zone: str = Field(..., description="IANA time zone in which the user's today, due and overdue are computed")


class MePatch(StrictSchema):
    """Preferences the user changes themselves; fields left out keep their values."""

    time_zone: str | None = Field(None, max_length=64, examples=["Asia/Shanghai", "America/Los_Angeles"])


class TerritoryOut(Schema):
    id: int
    code: str
    name: str
    parent_id: int | None


class ShareOut(Schema):
    id: int
    grantee_user_id: int | None
    grantee_team_id: int | None
    grantee_name: str
    access: str
    created_by_id: int | None
    created_at: datetime


class ShareIn(StrictSchema):
    user_id: int | None = Field(None, description="Share with this user (give user_id or team_id, not both)")
    team_id: int | None = Field(None, description="Share with every member of this team")
    access: Literal["read", "write"] = "read"


# ------------------------------------------------------------------ saved views (issue 6)


class SavedViewOut(Schema):
    id: int
    list: str
    name: str
    query: str = Field(..., description="The list's query string (its filters and sort)")
    owner_id: int
    shared_team_id: int | None
    mine: bool = Field(..., description="Whether the caller owns it (shared views are read-only)")
    created_at: datetime


class SavedViewIn(StrictSchema):
    list: str = Field(..., max_length=40, description="accounts, contacts, leads, opportunities or activities")
    name: str = Field(..., max_length=100)
    query: str = Field("", max_length=1000, description="The list's query string, e.g. stage=3&sort=-amount")
    shared_team_id: int | None = Field(None, description="A team you manage; its members see the view read-only")


class SavedViewPatch(StrictSchema):
    name: str | None = Field(None, max_length=100)
    query: str | None = Field(None, max_length=1000)
    shared_team_id: int | None = Field(None, description="null stops sharing")
