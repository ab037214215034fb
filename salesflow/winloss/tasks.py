"""The win/loss drivers' periodic job (to be listed in ``salesflow/schedule.py`` as
``winloss.refresh``): recompute the default views so readers get them from a snapshot."""

from __future__ import annotations

from django_tasks import task

from salesflow.winloss.cache import refresh_defaults


@task()
def refresh_winloss(slot: str = "") -> int:
    """Hourly: the company's, every team's and every rep's drivers for this month, quarter and
    fiscal year, in both languages. Idempotent (it overwrites the snapshots)."""
    return refresh_defaults()
