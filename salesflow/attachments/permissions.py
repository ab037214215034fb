"""Visibility of attachments: exactly that of the record they are attached to.

Reading an attachment requires read access to its record; adding and deleting require
write access to it (``core.visibility``'s record-kind registry answers for every kind).
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import Http404

from salesflow.attachments.models import Attachment
from salesflow.core.visibility import can_write_record, get_record_for_user, kind_of


def attachment_target_kind(attachment: Attachment) -> str | None:
    """The record kind (``"opportunity"``…) of the attachment's record."""
    model = ContentType.objects.get_for_id(attachment.content_type_id).model_class()
    return kind_of(model) if model is not None else None


def get_attachment_for_user(user: Any, pk: object, *, write: bool = False) -> tuple[Attachment, models.Model]:
    """The attachment ``pk`` and its record when ``user`` may read the record (with ``write``,
    change it). Unknown, malformed or unseen → ``Http404``; seen but read-only → ``Forbidden``."""
    try:
        pk_int = int(str(pk))
    except (TypeError, ValueError):
        raise Http404 from None
    if not 0 < pk_int < 2**63:
        raise Http404
    attachment = Attachment.objects.select_related("uploaded_by").filter(pk=pk_int).first()
    if attachment is None:
        raise Http404
    kind = attachment_target_kind(attachment)
    if kind is None:
        raise Http404
    record = get_record_for_user(user, kind, attachment.object_id, write=write)
    return attachment, record


def can_change_attachments(user: Any, record: models.Model) -> bool:
    """Whether ``user`` may add or delete the attachments of ``record``: whoever may write it."""
    return can_write_record(user, record)
