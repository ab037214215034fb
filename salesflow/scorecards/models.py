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


# --- pre-aggregated facts (issue 10 item 8: funnel math at bench scale) ---------------------


class ClosedMonthFact(models.Model):
    """The fingerprint of one group of closed deals at refresh time: the deals of one owner
    and one outcome (won or lost) whose ``closed_on`` falls in ``month`` (its first day).
    ``deals`` and ``id_sum`` are their count and the sum of their ids; a reader that finds
    another count or sum in the table now recomputes the group instead of trusting
    :class:`StagePassFact` (``scorecards.facts``). Derived data, rebuilt by
    ``scorecards.facts.refresh_funnel_facts``."""

    month = models.DateField()
    owner_id = models.BigIntegerField()
    outcome = models.CharField(max_length=10)
    deals = models.IntegerField()
    id_sum = models.BigIntegerField()

    class Meta:
        verbose_name = _("closed deals of a month")
        verbose_name_plural = _("closed deals of a month")
        constraints = [
            models.UniqueConstraint(fields=["month", "owner_id", "outcome"], name="scorecard_closedmonth_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.owner_id} {self.outcome}: {self.deals}"


class StagePassFact(models.Model):
    """Of the group of :class:`ClosedMonthFact` (month, owner, outcome), the deals that
    passed through the open stage ``stage_id`` (any ``StageChange`` into it): funnel math's
    stage → won rates. Derived data."""

    month = models.DateField()
    owner_id = models.BigIntegerField()
    outcome = models.CharField(max_length=10)
    stage_id = models.BigIntegerField()
    deals = models.IntegerField()

    class Meta:
        verbose_name = _("stage passes of a month")
        verbose_name_plural = _("stage passes of a month")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "owner_id", "outcome", "stage_id"], name="scorecard_stagepass_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.owner_id} {self.outcome} {self.stage_id}: {self.deals}"


class FunnelFactsState(models.Model):
    """One row: what the last refresh covered. ``through`` is the first day of the last
    month stored (every month before it is stored too); ``last_stage_change_id`` and
    ``last_field_change_id`` the highest ``StageChange`` / ``OpportunityFieldChange`` ids
    that existed when it read the deals: a deal with a later one is recomputed live."""

    through = models.DateField(null=True)
    last_stage_change_id = models.BigIntegerField(default=0)
    last_field_change_id = models.BigIntegerField(default=0)
    #: the pipeline whose stage conversion :class:`StageStepFact` holds (the default one)
    steps_pipeline_id = models.BigIntegerField(null=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("funnel facts state")
        verbose_name_plural = _("funnel facts state")

    def __str__(self) -> str:
        return f"through {self.through} at {self.refreshed_at}"


class StageStepFact(models.Model):
    """The stage conversion report of one ended month (issue 10 item 8: the team scorecard),
    for the pipeline ``pipeline_id``: of the entries (``StageChange``) into the open stage
    ``stage_id`` during the month (company time zone), the distinct deals (``entered``) and
    those that later reached a later stage or were won (``advanced``).

    ``owner_id`` is the owner at the time of the change; a row with ``is_total`` counts the
    deals of every owner together (a deal entering twice under two owners counts once), and
    its ``owner_id`` is null. A per-owner row keeps the fingerprint of its entries at refresh
    time (``changes``: their count, ``id_sum``: the sum of their ids) so a reader recomputes
    a group whose entries changed (``scorecards.facts``). Derived data."""

    month = models.DateField()
    pipeline_id = models.BigIntegerField()
    stage_id = models.BigIntegerField()
    owner_id = models.BigIntegerField(null=True)
    is_total = models.BooleanField(default=False)
    entered = models.IntegerField()
    advanced = models.IntegerField()
    changes = models.IntegerField(default=0)
    id_sum = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("stage conversion of a month")
        verbose_name_plural = _("stage conversion of a month")
        indexes = [models.Index(fields=["month", "pipeline_id"], name="scorecard_stagestep_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.stage_id} {self.owner_id}: {self.advanced}/{self.entered}"
