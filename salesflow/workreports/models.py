"""Daily and weekly work reports (日报/周报): one per author, kind and period; comments by
managers; reminders sent for missing reports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesflow.core.models import TimestampedModel
from salesflow.workreports import periods
from salesflow.workreports.choices import ReportKind, ReportStatus


class WorkReport(TimestampedModel):
    """A rep's report of one day (in their time zone) or one ISO week.

    Draft → submitted (once; the facts are frozen into ``facts``) → commented (by a manager
    above the author or an administrator). ``time_zone`` is the author's zone when the draft
    was made: the period's boundaries never move afterwards. Written only by the services.
    """

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="work_reports", verbose_name=_("author")
    )
    kind = models.CharField(_("type"), max_length=10, choices=ReportKind.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    time_zone = models.CharField(_("time zone"), max_length=64)
    status = models.CharField(_("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    summary = models.TextField(_("summary"), blank=True)
    plans = models.TextField(_("plans"), blank=True)
    problems = models.TextField(_("problems and help needed"), blank=True)
    #: The period's facts as they were when submitted (``selectors.report_facts``); empty for drafts.
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    #: The manager it was submitted to (the nearest manager above the author), if any.
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted to"),
    )
    last_commented_at = models.DateTimeField(_("last commented"), null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "kind", "-id"]
        verbose_name = _("work report")
        verbose_name_plural = _("work reports")
        constraints = [
            # one report per author and period; also serves "My reports" (WHERE author=? ORDER BY period_start)
            # and the team page's prefetch (WHERE author IN (…) AND kind=? AND period_start=?)
            models.UniqueConstraint(fields=["author", "kind", "period_start"], name="workreport_one_per_period"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="workreport_period"),
        ]
        indexes = [
            # the API list for managers and admins: WHERE kind=? AND period_start BETWEEN … [AND author IN (…)]
            models.Index(fields=["kind", "period_start", "author"], name="workreport_kind_period_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_label} · {self.author}"

    @property
    def period_label(self) -> str:
        return periods.label(self.kind, self.period_start)

    @property
    def is_draft(self) -> bool:
        return self.status == ReportStatus.DRAFT


class WorkReportComment(models.Model):
    """A manager's (or administrator's) comment on a submitted report; several per report."""

    report = models.ForeignKey(WorkReport, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("work report comment")
        verbose_name_plural = _("work report comments")
        indexes = [
            # the thread of a report, oldest first (detail page, team page prefetch)
            models.Index(fields=["report", "created_at"], name="workreport_comment_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.report_id}: {self.body[:40]}"


class WorkReportReminder(models.Model):
    """A reminder sent to ``user`` that their report of a period is missing: at most one per
    (user, kind, period), which makes the reminder job idempotent."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    kind = models.CharField(_("type"), max_length=10, choices=ReportKind.choices)
    period_start = models.DateField(_("period start"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("work report reminder")
        verbose_name_plural = _("work report reminders")
        constraints = [
            # one reminder per user and period; serves the job's "already reminded" lookup
            models.UniqueConstraint(fields=["user", "kind", "period_start"], name="workreport_one_reminder"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.period_start}"
