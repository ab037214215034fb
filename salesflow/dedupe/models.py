"""The duplicate report (查重报告): runs over the whole database and the candidate pairs found."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesflow.core.phrases import phrase_texts


class ReportStatus(models.TextChoices):
    PENDING = "pending", _("waiting")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class PairStatus(models.TextChoices):
    OPEN = "open", _("open")
    DISMISSED = "dismissed", _("dismissed")


class PairKind(models.TextChoices):
    LEAD = "lead", _("lead")
    ACCOUNT = "account", _("account")
    CONTACT = "contact", _("contact")


class DuplicateReportRun(models.Model):
    """One scan of the database for duplicates, started by an administrator.

    ``progress``/``total`` count scanned records; ``pairs_found`` the pairs stored. A finished
    run's pairs replace the previous run's (dismissals carry over by record pair).
    """

    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("started by")
    )
    status = models.CharField(_("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.PENDING)
    min_score = models.FloatField(_("lowest score"), default=0.8)
    total = models.PositiveIntegerField(_("records"), default=0)
    progress = models.PositiveIntegerField(_("scanned"), default=0)
    pairs_found = models.PositiveIntegerField(_("pairs found"), default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("duplicate report")
        verbose_name_plural = _("duplicate reports")
        indexes = [models.Index(fields=["status", "id"], name="dedupe_run_status_idx")]

    def __str__(self) -> str:
        return f"duplicate report #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == ReportStatus.DONE:
            return 100
        return min(99, self.progress * 100 // self.total) if self.total else 0


class DuplicatePair(models.Model):
    """Two records of one kind that may be the same party (``pk_a < pk_b``), with the score
    and reasons the matcher gave; ``status`` open or dismissed by an administrator."""

    run = models.ForeignKey(DuplicateReportRun, on_delete=models.CASCADE, related_name="pairs")
    kind = models.CharField(_("kind"), max_length=10, choices=PairKind.choices)
    pk_a = models.PositiveBigIntegerField()
    pk_b = models.PositiveBigIntegerField()
    label_a = models.CharField(max_length=200, blank=True)
    label_b = models.CharField(max_length=200, blank=True)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=4)
    reasons = models.JSONField(_("reasons"), default=list)
    status = models.CharField(_("status"), max_length=10, choices=PairStatus.choices, default=PairStatus.OPEN)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("duplicate pair")
        verbose_name_plural = _("duplicate pairs")
        constraints = [models.UniqueConstraint(fields=["run", "kind", "pk_a", "pk_b"], name="dedupe_pair_unique")]
        indexes = [
            # the report page: WHERE run=? [AND kind=?] AND status=? AND score>=? ORDER BY score DESC, id DESC
            models.Index(fields=["run", "status", "score", "id"], name="dedupe_pair_browse_idx"),
            models.Index(fields=["run", "kind", "status", "score", "id"], name="dedupe_pair_kind_idx"),
            # carrying dismissals over: WHERE kind=? AND pk_a=? AND pk_b=? AND status='dismissed'
            models.Index(fields=["kind", "pk_a", "pk_b"], name="dedupe_pair_records_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk_a}/{self.pk_b} {self.score}"

    @property
    def reason_texts(self) -> list[str]:
        """The reasons in the active language (they are kept language-neutrally)."""
        return phrase_texts(self.reasons)

    @property
    def merge_url(self) -> str:
        """The merge screen (built by the merging app at exactly this path)."""
        return f"/duplicates/merge/{self.kind}/{self.pk_a}/{self.pk_b}/"
