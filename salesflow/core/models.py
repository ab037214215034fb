"""Kernel models shared by every app: timestamps, translated names and the audit trail."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from salesflow.core.money import RateField


class TimestampedModel(models.Model):
    """Adds ``created_at`` / ``updated_at`` maintained by the database layer."""

    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class TranslatedNameModel(models.Model):
    """Configuration rows (stages, reasons) named in both UI languages.

    ``label`` returns the name for the active language, falling back to English.
    """

    name_en = models.CharField(_("name (English)"), max_length=100)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)

    class Meta:
        abstract = True

    @property
    def label(self) -> str:
        lang = (get_language() or "").lower()
        if lang.startswith("zh") and self.name_zh:
            return self.name_zh
        return self.name_en or self.name_zh

    def __str__(self) -> str:
        return self.label


class AuditEvent(models.Model):
    """One thing that happened, written by the service that did it, in its transaction.

    ``verb`` is a dotted identifier (``sales.opportunity.stage_changed``); ``data`` holds
    the details needed to render the event (changed fields, from/to). Events are never
    updated. Each event is linked (``AuditLink``) to every record whose timeline shows it.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    verb = models.CharField(_("verb"), max_length=80)
    target_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    target_id = models.BigIntegerField()
    target_repr = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # the record's own history: WHERE target_type=? AND target_id=? ORDER BY created_at
            models.Index(fields=["target_type", "target_id", "created_at"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.verb} {self.target_repr}"


class AuditLink(models.Model):
    """Places an event on a record's timeline (the target and any related records)."""

    event = models.ForeignKey(AuditEvent, on_delete=models.CASCADE, related_name="links")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "content_type", "object_id"], name="auditlink_unique"),
        ]
        indexes = [
            # the timeline query: WHERE content_type=? AND object_id=? ORDER BY event_id DESC
            models.Index(fields=["content_type", "object_id", "event"], name="auditlink_record_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.content_type_id}:{self.object_id} ← {self.event_id}"


class ExchangeRate(TimestampedModel):
    """What one unit of ``currency`` is worth in the company currency from ``valid_from`` on.

    Entered by administrators (``exchange_rate_create`` / ``_update`` / ``_delete``, audited).
    A conversion on a date uses the latest rate whose ``valid_from`` is on or before it
    (``salesflow.core.selectors.convert``). ``rate`` is exact (integer 10⁻⁸ units).
    """

    currency = models.CharField(_("currency"), max_length=3)
    rate = RateField(_("rate"), help_text=_("Value of one unit of the currency in the company currency."))
    valid_from = models.DateField(_("valid from"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["currency", "-valid_from"]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            # Also the index of "the latest rate of a currency on or before a date".
            models.UniqueConstraint(fields=["currency", "valid_from"], name="exchange_rate_unique_day"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate} ({self.valid_from:%Y-%m-%d})"


class ScheduledRun(models.Model):
    """One slot of a periodic job that a scheduler enqueued (``salesflow scheduler``).

    The unique (job, slot) pair is what makes the scheduler exactly-once per slot: several
    schedulers (or restarts) racing for the same slot all try to insert this row, one wins
    and enqueues the task, the others get an IntegrityError and skip.
    """

    job = models.CharField(max_length=100)
    slot = models.CharField(max_length=40)
    enqueued_at = models.DateTimeField(default=timezone.now)
    task_result_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="scheduledrun_job_slot_unique")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot}"


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"


class ExportJob(models.Model):
    """One export of a list (``salesflow.core.exports``) asked for by ``requester``.

    Infrastructure like ``ScheduledRun``: the rows are those ``list_key``'s registered
    builder returns for ``query`` as the requester sees them. Small exports are written
    during the request, large ones by a background task that updates ``progress``. The file
    lives under the data directory (``file_name``) and only the requester downloads it,
    until ``expires_at`` (the cleanup job deletes the file and marks the job expired).
    """

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("requested by")
    )
    list_key = models.CharField(_("list"), max_length=40)
    query = models.CharField(_("filter"), max_length=1000, blank=True)
    format = models.CharField(_("format"), max_length=8, choices=ExportFormat.choices)
    status = models.CharField(_("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    total = models.PositiveIntegerField(_("rows"), default=0)
    progress = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [
            # a user's recent exports: WHERE requester_id=? ORDER BY id DESC
            models.Index(fields=["requester", "id"], name="exportjob_requester_idx"),
            # the cleanup job: WHERE expires_at < now
            models.Index(fields=["expires_at"], name="exportjob_expires_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.list_key} {self.format} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        return min(99, int(self.progress * 100 / self.total)) if self.total else 0


class DocumentSequence(models.Model):
    """The last number handed out for one kind of document (``quote``, ``contract``…) in
    one year. Only :func:`salesflow.core.numbering.next_document_number` touches it."""

    kind = models.CharField(max_length=40)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "year"], name="core_docseq_kind_year")]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last}"
