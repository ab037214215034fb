"""API schemas of the global search."""

from __future__ import annotations

from ninja import Field

from salesflow.core.schemas import SearchText, StrictQuery, StrictSchema


class SearchQuery(StrictQuery):
    q: SearchText = Field("", description="Name, company, mobile (any format), email or credit code")
    kind: str = Field("", max_length=30, description="Only this kind: account, contact, opportunity or lead")
    limit: int = Field(5, ge=1, le=50, description="Hits per kind (1–50)")


class SearchHitOut(StrictSchema):
    kind: str
    record_id: int
    title: str
    subtitle: str
    url: str = Field(description="The record's page in the web UI")


class SearchGroupOut(StrictSchema):
    kind: str
    label: str
    more: bool = Field(description="More hits than `limit`: narrow the term or use the kind's list")
    hits: list[SearchHitOut]


class SearchOut(StrictSchema):
    q: str
    groups: list[SearchGroupOut]
