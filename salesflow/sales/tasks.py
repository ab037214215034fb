"""Scheduled work of sales: the daily time-in-stage statistic and the stall escalation."""

from __future__ import annotations

from django_tasks import task

from salesflow.sales.services import opportunities_escalate_stalled, stage_dwell_stats_compute
from salesflow.users.services import system_actor


@task()
def compute_stage_dwell_stats(slot: str = "") -> int:
    """Daily: each team's 80th percentile of time in each stage (``StageDwellStat``),
    replaced as a whole, so running it twice gives the same rows."""
    return stage_dwell_stats_compute(actor=system_actor())


@task()
def escalate_stalled_deals(slot: str = "") -> int:
    """Daily: the stall escalation ladder over the stalled open deals; one notice (and
    event, and notification) per deal, step and stall episode, so a second run writes none."""
    return opportunities_escalate_stalled(actor=system_actor())
