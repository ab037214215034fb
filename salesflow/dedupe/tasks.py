"""Background task of the duplicate report."""

from __future__ import annotations

from django_tasks import task


@task()
def run_duplicate_report(run_id: int) -> int:
    """Scan the database for report run ``run_id``; returns the pairs found (0 when the run
    was not pending: idempotent)."""
    from salesflow.dedupe.services import report_run

    run = report_run(run_id=run_id)
    return run.pairs_found if run is not None else 0
