"""API schemas of imports (``/api/v1/imports``)."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from salesflow.core.schemas import StrictQuery, StrictSchema


class UploadIn(StrictSchema):
    kind: str = Field(..., max_length=20, description="lead, account, contact or opportunity")
    template_id: int | None = Field(None, description="A mapping template to apply to the file's headers")


class MappingIn(StrictSchema):
    mapping: dict[str, str] = Field(..., description="Header → field; an empty field ignores the column")


class RunIn(StrictSchema):
    mode: str = Field(..., max_length=20, description="all_or_nothing or valid_rows")


class TemplateIn(StrictSchema):
    kind: str = Field(..., max_length=20)
    name: str = Field(..., max_length=100)
    mapping: dict[str, str]
    shared: bool = False


class TemplateOut(Schema):
    id: int
    kind: str
    name: str
    mapping: dict[str, str]
    shared: bool
    owner_id: int


class JobOut(Schema):
    id: int
    kind: str
    file_name: str
    status: str = Field(..., description="mapping, queued, running, done, failed, cancelled or rolled_back")
    mode: str
    headers: list[str]
    mapping: dict[str, str] = Field(..., description="Header → field (suggested on upload, editable while mapping)")
    fields: list[str] = Field(..., description="The fields a column may be mapped to for this kind")
    total_rows: int
    progress: int
    percent: int
    created: int
    skipped: int
    rejected: int
    cancel_requested: bool
    error: str
    created_at: datetime
    finished_at: datetime | None


class DuplicateOut(Schema):
    kind: str
    score: float
    reasons: list[str]
    label: str


class CellErrorOut(Schema):
    column: str
    reason: str


class PreviewRowOut(Schema):
    row: int = Field(..., description="The spreadsheet's row number (the header is row 1)")
    state: str = Field(..., description="created (valid), skipped (already exists) or rejected")
    cells: list[str]
    errors: list[CellErrorOut]
    exists: str
    duplicates: list[DuplicateOut]


class PreviewOut(Schema):
    total: int
    offset: int
    valid: int
    rejected: int
    skipped: int
    rows: list[PreviewRowOut]


class PreviewQuery(StrictQuery):
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(200, ge=1, le=500)


class RollbackOut(Schema):
    deleted: int
    kept: list[dict[str, object]]
