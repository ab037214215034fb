"""Reads of attachments; callers resolve the record through the visibility policy first."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet

from salesflow.attachments.models import Attachment


def attachments_of(record: models.Model) -> QuerySet[Attachment]:
    """The attachments of ``record`` (already checked readable), newest first, uploader joined."""
    ct = ContentType.objects.get_for_model(record)
    return (
        Attachment.objects.filter(content_type=ct, object_id=record.pk)
        .select_related("uploaded_by")
        .order_by("-created_at", "-id")
    )
