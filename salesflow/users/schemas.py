from __future__ import annotations

from ninja import Schema


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
