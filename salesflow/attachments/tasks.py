"""Background work of attachments: thumbnails and the removal of orphaned files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
from django_tasks import task

from salesflow.attachments.models import Attachment
from salesflow.attachments.services import (
    attachment_make_thumbnail,
    attachments_purge_orphans,
    attachments_purge_stray_files,
)
from salesflow.core.visibility import kind_of

if TYPE_CHECKING:
    from salesflow.core.models import AuditEvent


@task()
def make_thumbnail(attachment_id: int) -> None:
    """Thumbnail of a newly attached image (idempotent)."""
    attachment_make_thumbnail(attachment_id=attachment_id)


def should_purge(event: AuditEvent) -> bool:
    """Only deletions of a record kind can leave attachments behind (and only when there are
    any: no queue traffic for installations or bulk deletions without attachments)."""
    model = ContentType.objects.get_for_id(event.target_type_id).model_class()
    return model is not None and kind_of(model) is not None and Attachment.objects.exists()


@task()
def purge_after_delete(event_id: int) -> None:
    """After a record was deleted: remove the attachments left without a record."""
    attachments_purge_orphans()


@task()
def purge_orphaned_attachments(slot: str = "") -> None:
    """Daily: attachments without a record, and files no attachment names."""
    attachments_purge_orphans()
    attachments_purge_stray_files()
