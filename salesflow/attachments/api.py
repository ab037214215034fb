"""``/api/v1/attachments``: list a record's files, upload (multipart), read, download, delete.

Every endpoint resolves the record through the record-kind registry: reading needs read
access to the record (unseen → 404), uploading and deleting need write access (403).
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router
from ninja.files import UploadedFile

from salesflow.attachments.downloads import file_response
from salesflow.attachments.models import Attachment
from salesflow.attachments.permissions import attachment_target_kind, get_attachment_for_user
from salesflow.attachments.schemas import AttachmentFilters, AttachmentIn, AttachmentListOut, AttachmentOut
from salesflow.attachments.selectors import attachments_of
from salesflow.attachments.services import attachment_add, attachment_delete, too_large_error
from salesflow.attachments.uploads import upload_was_too_large
from salesflow.core.errors import ValidationFailed
from salesflow.core.visibility import get_record_for_user, record_kinds
from salesflow.users.models import User

router = Router(tags=["attachments"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _record_kind(kind: str) -> str:
    if kind not in record_kinds():
        raise ValidationFailed(
            _("The input is not valid."),
            field_errors={
                "record_kind": [_("Unknown kind of record: %(kinds)s.") % {"kinds": ", ".join(record_kinds())}]
            },
        )
    return kind


def _out(attachment: Attachment, record_kind: str) -> Attachment:
    attachment.record_kind = record_kind  # type: ignore[attr-defined]
    return attachment


@router.get("", response=AttachmentListOut, summary="List the attachments of a record")
@router.get("/", response=AttachmentListOut, include_in_schema=False)
def list_attachments(request: HttpRequest, filters: Query[AttachmentFilters]) -> dict[str, Any]:
    """The files of the record ``record_kind``/``record_id`` (which must be visible), newest first."""
    kind = _record_kind(filters.record_kind)
    record = get_record_for_user(_user(request), kind, filters.record_id)
    qs = attachments_of(record)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    items = [_out(a, kind) for a in qs[filters.offset : filters.offset + filters.limit]]
    return {"count": qs.count(), "items": items}


@router.post("", response={201: AttachmentOut}, summary="Attach a file to a record")
def create_attachment(
    request: HttpRequest, data: Form[AttachmentIn], file: File[UploadedFile | None] = None
) -> tuple[int, Attachment]:
    """``multipart/form-data`` with ``record_kind``, ``record_id``, ``kind`` and the ``file``.

    The type is checked by content (PDF, PNG, JPEG, GIF, WebP, docx/xlsx/pptx, text/CSV) and
    must match the file name's extension; larger than the size limit → 400 on ``file``.
    """
    if upload_was_too_large(request):
        raise too_large_error()
    unknown = (set(request.POST) - set(AttachmentIn.model_fields)) | (set(request.FILES) - {"file"})
    if unknown or len(request.FILES.getlist("file")) > 1:
        errors = {name: [_("Unknown or read-only field.")] for name in sorted(unknown)}
        if len(request.FILES.getlist("file")) > 1:
            errors["file"] = [_("Send one file per request.")]
        raise ValidationFailed(_("The input is not valid."), field_errors=errors)
    kind = _record_kind(data.record_kind)
    record = get_record_for_user(_user(request), kind, data.record_id, write=True)
    attachment = attachment_add(actor=_user(request), record=record, upload=file, kind=data.kind)
    return 201, _out(attachment, kind)


@router.get("/{int:attachment_id}", response=AttachmentOut, summary="Attachment metadata")
def get_attachment(request: HttpRequest, attachment_id: int) -> Attachment:
    attachment, _record = get_attachment_for_user(_user(request), attachment_id)
    return _out(attachment, attachment_target_kind(attachment) or "")


@router.get("/{int:attachment_id}/download", url_name="attachment_download", summary="Download the file")
def download_attachment(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """The file itself (``Content-Disposition: attachment``, the detected content type)."""
    attachment, _record = get_attachment_for_user(_user(request), attachment_id)
    return file_response(attachment)


@router.delete("/{int:attachment_id}", response={204: None}, summary="Delete an attachment")
def delete_attachment(request: HttpRequest, attachment_id: int) -> tuple[int, None]:
    """Whoever may write the record may delete its files (403 otherwise)."""
    attachment, _record = get_attachment_for_user(_user(request), attachment_id, write=True)
    attachment_delete(actor=_user(request), attachment=attachment)
    return 204, None
