"""The dashboards' periodic job (to be listed in ``salesflow/schedule.py`` as
``dashboards.refresh``): recompute the widest dashboards' figures so the first reader of the
morning (and every reader after each refresh) gets them from a snapshot."""

from __future__ import annotations

from django_tasks import task

from salesflow.dashboards.cache import refresh_widest


@task()
def refresh_dashboards(slot: str = "") -> int:
    """Every 10 minutes: the company's and each top team's dashboard, this month, both
    languages. Idempotent (it overwrites the snapshots)."""
    return refresh_widest()
