"""API schemas of notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from salesflow.core.schemas import StrictQuery, StrictSchema


class NotificationOut(Schema):
    id: int
    kind: str
    text: str
    summary: dict[str, str]
    url: str
    target_type: str | None
    target_id: int | None
    read_at: datetime | None
    created_at: datetime


class NotificationPage(Schema):
    count: int
    items: list[NotificationOut]


class NotificationFilters(StrictQuery):
    unread: bool = False
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0)


class ReadAllOut(Schema):
    marked: int


class UnreadOut(Schema):
    unread: int


class PreferenceItem(StrictSchema):
    kind: str
    channel: Literal["in_app", "email", "robot"]
    enabled: bool


class PreferencesIn(StrictSchema):
    preferences: list[PreferenceItem]
