"""API schemas for attachments."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from ninja import Field, Schema

from salesflow.attachments.choices import AttachmentKind
from salesflow.attachments.models import Attachment
from salesflow.core.schemas import COUNT_DOC, StrictQuery, StrictSchema

RECORD_KIND_DOC = "Kind of record: account, contact, lead, opportunity or activity"
KIND_DOC = "What the file is: " + ", ".join(AttachmentKind.values)


class AttachmentOut(Schema):
    id: int
    record_kind: str = Field(..., description=RECORD_KIND_DOC)
    record_id: int
    kind: str = Field(..., description=KIND_DOC)
    kind_label: str
    file_name: str
    size: int = Field(..., description="Bytes")
    mime_type: str = Field(..., description="Detected from the content")
    sha256: str
    has_thumbnail: bool
    uploaded_by_id: int | None
    uploaded_by_name: str | None
    created_at: datetime
    download_url: str = Field(..., description="API path of the file itself")

    @staticmethod
    def resolve_record_kind(obj: Attachment, context: object = None) -> str:
        return str(getattr(obj, "record_kind", ""))

    @staticmethod
    def resolve_record_id(obj: Attachment) -> int:
        return int(obj.object_id)

    @staticmethod
    def resolve_kind_label(obj: Attachment) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_has_thumbnail(obj: Attachment) -> bool:
        return bool(obj.thumbnail_path)

    @staticmethod
    def resolve_uploaded_by_name(obj: Attachment) -> str | None:
        return str(obj.uploaded_by) if obj.uploaded_by_id else None

    @staticmethod
    def resolve_download_url(obj: Attachment) -> str:
        return reverse("api-v1:attachment_download", args=[obj.pk])


class AttachmentFilters(StrictQuery):
    record_kind: str = Field(..., max_length=40, description=RECORD_KIND_DOC)
    record_id: int = Field(..., ge=1)
    kind: str = Field("", max_length=40, description="Only files of this kind")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0)


class AttachmentListOut(Schema):
    count: int = Field(..., description=COUNT_DOC)
    items: list[AttachmentOut]


class AttachmentIn(StrictSchema):
    """The form fields of an upload (``multipart/form-data``, beside the ``file`` part)."""

    record_kind: str = Field(..., max_length=40, description=RECORD_KIND_DOC)
    record_id: int = Field(..., ge=1)
    kind: str = Field(AttachmentKind.OTHER.value, max_length=40, description=KIND_DOC)
