"""Appraisals (考核, issue 10): a manager's rating and comment on one rep for one month or
quarter, shown with the rep's scorecard for that period."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from salesflow.core.models import TimestampedModel
from salesflow.scorecards.choices import Rating

COMMENT_MAX_LENGTH = 4000


class Appraisal(TimestampedModel):
    """One rep's appraisal for one period (``core.periods`` key of a month or a quarter);
    unique per (rep, period). Written by the rep's manager through
    ``scorecards.services``."""

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appraisals", verbose_name=_("rep")
    )
    period_key = models.CharField(_("period"), max_length=20)
    period_start = models.DateField(_("period start"), editable=False)
    rating = models.CharField(_("rating"), max_length=1, choices=Rating.choices)
    comment = models.TextField(_("manager's comment"), max_length=COMMENT_MAX_LENGTH, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("written by")
    )

    class Meta:
        verbose_name = _("appraisal")
        verbose_name_plural = _("appraisals")
        constraints = [
            models.UniqueConstraint(fields=["rep", "period_key"], name="appraisal_rep_period_uniq"),
            models.CheckConstraint(condition=models.Q(rating__in=["A", "B", "C", "D"]), name="appraisal_rating_valid"),
        ]
        indexes = [
            # appraisals_for(period=…): the team's appraisals of one period
            models.Index(fields=["period_key", "rep"], name="appraisal_period_rep_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rep} {self.period_key}"
