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
