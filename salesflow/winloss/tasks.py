"""The win/loss drivers' jobs: the periodic ``winloss.refresh`` (listed in
``salesflow/schedule.py``) recomputes the default views so readers get them from a snapshot;
``refresh_view`` recomputes one view a reader found stale or missing (``cache.read``)."""

from __future__ import annotations

from datetime import date

from django.utils import translation
from django_tasks import task

from salesflow.winloss.cache import drivers_data, refresh_defaults


@task()
def refresh_winloss(slot: str = "") -> int:
    """Hourly: the company's, every team's and every rep's drivers for this month, quarter and
    fiscal year (one snapshot each serves both languages). Idempotent (it overwrites the
    snapshots)."""
    return refresh_defaults()


@task()
def refresh_view(params: dict[str, str], today: str, language: str = "") -> bool:
    """Recompute the drivers of one set of cleaned filters (``AnalysisFilters.params``, checked
    for the reader who asked) and store the snapshot, which serves every language. The filters
    are parsed again as the system actor (who sees every node); a node or filter gone since is
    skipped (``False``). Idempotent (it overwrites the snapshot). ``language`` is ignored: it
    is accepted so that refreshes enqueued before the snapshots became language-neutral still
    run (the filter form's messages are not shown to anyone, so they use the default language)."""
    from salesflow.analytics.forms import AnalysisFilterForm
    from salesflow.users.services import system_actor

    with translation.override(None):
        form = AnalysisFilterForm(params, user=system_actor())
        if not form.is_valid():
            return False
        drivers_data(form.analysis(), date.fromisoformat(today), fresh=True)
    return True
