"""Forecast submissions (销售预测, issue 11 item 1).

One model, :class:`ForecastEntry`: every submission of a rep and every adjustment of a manager
or an administrator is a NEW row; rows are never changed or deleted, so the history of a node's
forecast for a period is its rows in ``revision`` order and the latest revision counts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.money import MoneyField

NOTE_MAX_LENGTH = 1000


class EntryKind(models.TextChoices):
    SUBMISSION = "submission", _("Submission")
    ADJUSTMENT = "adjustment", _("Adjustment")


class ForecastEntry(models.Model):
    """A forecast of one node (``rep:<id>`` submitted by the rep; ``team:<id>`` or ``company``
    adjusted by a manager or an administrator) for one month or quarter (``core.periods`` key).

    Figures are in the company currency (``currency``), exact: ``commit ≤ best_case ≤
    pipeline`` (cumulative, like the categories they come from). ``suggested_*`` keep what the
    deals suggested when the entry was written (the pre-filled figures), for the history.
    ``revision`` numbers a node's entries for the period from 1; the unique constraint makes
    two simultaneous writes of the same revision collide instead of both counting.
    """

    node_key = models.CharField(_("level"), max_length=40)
    period_key = models.CharField(_("period"), max_length=20)
    period_end = models.DateField(_("period end"))
    kind = models.CharField(_("kind"), max_length=12, choices=EntryKind.choices)
    revision = models.PositiveIntegerField(_("revision"))
    commit = MoneyField(_("commit"))
    best_case = MoneyField(_("best case"))
    pipeline = MoneyField(pgettext_lazy("forecast category", "pipeline"))
    currency = models.CharField(_("currency"), max_length=3)
    suggested_commit = MoneyField(_("suggested commit"), null=True, blank=True)
    suggested_best_case = MoneyField(_("suggested best case"), null=True, blank=True)
    suggested_pipeline = MoneyField(_("suggested pipeline"), null=True, blank=True)
    note = models.TextField(_("note"), max_length=NOTE_MAX_LENGTH, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=pgettext_lazy("forecast", "written by"),
    )
    created_at = models.DateTimeField(_("written at"), default=timezone.now)

    class Meta:
        ordering = ["period_key", "node_key", "revision"]
        verbose_name = _("forecast entry")
        verbose_name_plural = _("forecast entries")
        constraints = [
            # one row per revision: a concurrent double submission collides here (services)
            models.UniqueConstraint(fields=["period_key", "node_key", "revision"], name="forecast_entry_rev_uniq"),
            models.CheckConstraint(
                condition=models.Q(commit__gte=0)
                & models.Q(best_case__gte=models.F("commit"))
                & models.Q(pipeline__gte=models.F("best_case")),
                name="forecast_entry_cumulative",
            ),
        ]
        indexes = [
            # accuracy: the entries of some nodes over several periods, latest before each end
            models.Index(fields=["node_key", "period_key", "created_at"], name="forecast_entry_node_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.node_key} {self.period_key} r{self.revision}"


class ForecastReminder(models.Model):
    """A reminder sent to ``user`` that their forecast of ``period_key`` is due: at most one
    per (user, period), which makes the reminder job idempotent."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    period_key = models.CharField(_("period"), max_length=20)
    due_on = models.DateField(_("due on"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("forecast reminder")
        verbose_name_plural = _("forecast reminders")
        constraints = [
            # one reminder per person and period; serves the job's "already reminded" lookup
            models.UniqueConstraint(fields=["user", "period_key"], name="forecast_one_reminder"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period_key}"
