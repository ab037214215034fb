"""Files attached to records (accounts, contacts, leads, deals, activities)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesflow.attachments.choices import AttachmentKind


class Attachment(models.Model):
    """One uploaded file on one record (a registered record kind, generic target).

    The file lives under the attachments directory (``SALESFLOW_ATTACHMENTS_DIR``, by default
    ``<data dir>/attachments``) at ``stored_path``, a random name chosen by the server; the
    user's file name is only ``file_name`` (sanitised) and never touches the file system.
    Only the download view serves it, after the record's visibility check.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    kind = models.CharField(_("kind"), max_length=20, choices=AttachmentKind.choices, default=AttachmentKind.OTHER)
    file_name = models.CharField(_("file name"), max_length=200)
    stored_path = models.CharField(max_length=200, unique=True, editable=False)
    size = models.PositiveBigIntegerField(_("file size"))
    mime_type = models.CharField(_("detected type"), max_length=100)
    sha256 = models.CharField(max_length=64)
    thumbnail_path = models.CharField(max_length=200, blank=True, default="", editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [
            # the record's attachments, newest first (panel, API list, orphan sweep per kind)
            models.Index(fields=["content_type", "object_id", "-created_at"], name="attachment_target_idx"),
        ]

    def __str__(self) -> str:
        return self.file_name

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")
