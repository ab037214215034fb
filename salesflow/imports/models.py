"""Import jobs (导入), their rows, and reusable column mappings (映射模板).

An :class:`ImportJob` is one uploaded file of one record kind, imported by ``owner`` (every
row is written through the record services acting as that user). Its :class:`ImportRow`
rows record what became of each row of the file that was processed — written in the same
transaction as the record the row created, so after a crash the rows say exactly which
records landed. A :class:`MappingTemplate` is a saved column mapping.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesflow.imports.choices import ImportKind, ImportMode, ImportStatus, RowState


class MappingTemplate(models.Model):
    """A saved column mapping (header → field) for files of ``kind``; ``shared`` ones are
    offered to everyone, the others to their owner only."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    kind = models.CharField(_("record kind"), max_length=20, choices=ImportKind.choices)
    name = models.CharField(_("name"), max_length=100)
    mapping = models.JSONField(_("column mapping"), default=dict)
    shared = models.BooleanField(_("shared with everyone"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("mapping template")
        verbose_name_plural = _("mapping templates")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "kind", "name"], name="imports_template_unique")]
        indexes = [models.Index(fields=["kind", "shared"], name="imports_template_kind_idx")]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    """One file imported by ``owner``: its mapping, mode, status, progress and counts."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("imported by")
    )
    kind = models.CharField(_("record kind"), max_length=20, choices=ImportKind.choices)
    file_name = models.CharField(_("file"), max_length=255)
    stored_name = models.CharField(max_length=100)
    file_hash = models.CharField(max_length=64)
    file_size = models.PositiveIntegerField(default=0)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(_("column mapping"), default=dict)
    mode = models.CharField(_("mode"), max_length=20, choices=ImportMode.choices, default=ImportMode.VALID_ROWS)
    status = models.CharField(_("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.MAPPING)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    progress = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(_("imported"), default=0)
    skipped_count = models.PositiveIntegerField(_("already existing"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    cancel_requested = models.BooleanField(default=False)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [
            # the user's imports page: WHERE owner_id=? ORDER BY id DESC
            models.Index(fields=["owner", "id"], name="imports_job_owner_idx"),
            # everybody's imports (administrators): ORDER BY id DESC uses the primary key
        ]

    def __str__(self) -> str:
        return f"{self.file_name} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        return min(99, int(self.progress * 100 / self.total_rows)) if self.total_rows else 0

    @property
    def is_active(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)


class ImportRow(models.Model):
    """What became of row ``row_number`` (the spreadsheet's row number, header = 1) of a job.

    ``fingerprint`` (kind, file hash, row number) and ``external_key`` (kind, the file's
    ``id`` column) recognise the same row when a file is imported again. ``record_id`` is
    the record the row created (``created`` rows), which a rollback deletes.
    """

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField()
    state = models.CharField(max_length=20, choices=RowState.choices)
    # rejected rows: [[column, reason], ...]; skipped rows: why in ``reason``
    errors = models.JSONField(default=list)
    reason = models.CharField(max_length=500, blank=True)
    record_id = models.PositiveBigIntegerField(null=True, blank=True)
    fingerprint = models.CharField(max_length=120)
    external_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["job", "row_number"]
        constraints = [models.UniqueConstraint(fields=["job", "row_number"], name="imports_row_unique")]
        indexes = [
            models.Index(fields=["fingerprint", "state"], name="imports_row_fp_idx"),
            models.Index(fields=["external_key", "state"], name="imports_row_ext_idx"),
            # the error report and rollback: WHERE job_id=? AND state=? ORDER BY row_number
            models.Index(fields=["job", "state", "row_number"], name="imports_row_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row_number} {self.state}"
