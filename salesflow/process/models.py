"""Fact tables of process intelligence (issue 11 item 4), kept by ``process.tasks``.

The process page reads these instead of ``StageChange`` and ``Opportunity`` so it answers in
well under a second at bench scale (300k deals, 1M+ stage changes). They are derived data:
``process.facts.refresh_facts(full=True)`` rebuilds them from scratch at any time; the
incremental run adds the stage exits written since the last run and re-derives the open
stays and closed-deal facts of the deals changed since then (no other row is rewritten).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ExitKind(models.TextChoices):
    FORWARD = "forward", _("Moved forward")
    BACK = "back", _("Moved back")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    OPEN = "open", _("Still in the stage")


class StageVisit(models.Model):
    """One stay of one deal in one stage.

    A finished stay comes from one ``StageChange`` (``source_id``) leaving ``stage``: its
    owner and team are the snapshot *at the time of the change* (team at the time), its
    pipeline the stage's pipeline, ``exit_day``/``exit_week`` (Monday) in the company time
    zone, ``entered_s``/``exited_s`` epoch seconds. A stay still going on (``kind`` open,
    ``source_id`` null) is the deal's current stage with its current owner and team.
    Segment columns (industry, size, source, region) are the account's at refresh time."""

    source_id = models.BigIntegerField(null=True, unique=True)
    opportunity = models.ForeignKey("sales.Opportunity", on_delete=models.CASCADE, related_name="+")
    pipeline_id = models.BigIntegerField()
    stage_id = models.BigIntegerField()
    owner_id = models.BigIntegerField(null=True)
    team_id = models.BigIntegerField(null=True)
    region_id = models.BigIntegerField(null=True)
    industry = models.CharField(max_length=30, blank=True)
    size = models.CharField(max_length=20, blank=True)
    source = models.CharField(max_length=20, blank=True)
    kind = models.CharField(max_length=10, choices=ExitKind.choices)
    entered_s = models.BigIntegerField()
    exited_s = models.BigIntegerField(null=True)
    duration_seconds = models.BigIntegerField(null=True)
    exit_day = models.DateField(null=True)
    exit_week = models.DateField(null=True)

    class Meta:
        verbose_name = _("stage visit")
        verbose_name_plural = _("stage visits")
        indexes = [
            # the page: a pipeline's exits over a period (then node windows on owner/day)
            models.Index(fields=["pipeline_id", "exit_day"], name="process_visit_pipe_day"),
            models.Index(fields=["owner_id", "exit_day"], name="process_visit_owner_day"),
            # the control chart of one stage by week
            models.Index(fields=["stage_id", "exit_week"], name="process_visit_stage_week"),
            # open stays (WIP now), the rebuild deletes them by kind
            models.Index(fields=["kind", "pipeline_id", "stage_id"], name="process_visit_kind"),
        ]


class DealFact(models.Model):
    """One closed (won or lost) deal: its owner (the deal's owner, as the dashboards count
    it), the owner's team now, close day and week, cycle days (creation day to close day,
    company time zone) and whether it ever moved back a stage (``regressed``)."""

    opportunity = models.OneToOneField("sales.Opportunity", on_delete=models.CASCADE, related_name="+")
    pipeline_id = models.BigIntegerField()
    owner_id = models.BigIntegerField()
    region_id = models.BigIntegerField(null=True)
    industry = models.CharField(max_length=30, blank=True)
    size = models.CharField(max_length=20, blank=True)
    source = models.CharField(max_length=20, blank=True)
    won = models.BooleanField()
    regressed = models.BooleanField()
    cycle_days = models.IntegerField()
    closed_on = models.DateField()
    close_week = models.DateField()

    class Meta:
        verbose_name = _("closed deal fact")
        verbose_name_plural = _("closed deal facts")
        indexes = [
            models.Index(fields=["pipeline_id", "closed_on"], name="process_deal_pipe_day"),
            models.Index(fields=["owner_id", "closed_on"], name="process_deal_owner_day"),
            models.Index(fields=["close_week"], name="process_deal_week"),
        ]


class FactsState(models.Model):
    """The one row of refresh bookkeeping: the watermarks of the last run (the last stage
    change folded in, the last field-history row seen, the time) and when it ran."""

    last_stage_change_id = models.BigIntegerField(default=0)
    last_field_change_id = models.BigIntegerField(default=0)
    last_deal_update = models.DateTimeField(null=True)
    refreshed_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("process facts state")
        verbose_name_plural = _("process facts state")


class ProcessSnapshot(models.Model):
    """A page's figures as last computed for one page kind, set of cleaned filters and
    language (``key`` digest; not the day: ``process.pages.cached`` serves an older one while a
    refresh is queued); the node is checked before a snapshot is read."""

    key = models.CharField(max_length=64, unique=True)
    data = models.JSONField()
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("process snapshot")
        verbose_name_plural = _("process snapshots")
