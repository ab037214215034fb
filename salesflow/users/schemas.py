from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    role: str
    team_id: int | None


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


class ShareIn(Schema):
    user_id: int | None = Field(None, description="Share with this user (give user_id or team_id, not both)")
    team_id: int | None = Field(None, description="Share with every member of this team")
    access: Literal["read", "write"] = "read"
