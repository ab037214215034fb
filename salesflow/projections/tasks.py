"""The revenue forecast's job (to be listed in ``salesflow/schedule.py`` as
``projections.compute_forecasts``, daily at 02:50): the backtests and fits are seconds each,
so they run here and the page and the API read the stored :class:`ForecastRun` rows."""

from __future__ import annotations

from django_tasks import task

from salesflow.projections.services import compute_all


@task()
def compute_forecasts(slot: str = "") -> int:
    """Recompute every forecast (company and teams × won revenue and collections × month and
    week). Idempotent for any slot: the rows are overwritten. Returns the runs written."""
    return compute_all()
