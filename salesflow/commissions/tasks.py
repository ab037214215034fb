"""Background work of commissions: "compute for everyone I manage" (a ``ComputeRun`` with
progress) and the monthly job ``commissions.draft_last_month`` (listed in
``salesflow/schedule.py``). Both are idempotent."""

from __future__ import annotations

from datetime import date

from django_tasks import task


@task()
def compute_statements(run_id: int) -> int:
    """Compute the draft statements of run ``run_id``; returns how many were made."""
    from salesflow.commissions.services import statements_compute_run

    run = statements_compute_run(run_id)
    return run.made if run is not None else 0


def last_month_key(slot: str) -> str:
    """The month before the slot's month (``"2026-12"`` or ``"2026-12-01"`` → ``"2026-11"``)."""
    year, month = int(slot[:4]), int(slot[5:7])
    first = date(year, month, 1)
    previous = date(first.year - 1, 12, 1) if month == 1 else date(year, month - 1, 1)
    return f"{previous.year:04d}-{previous.month:02d}"


@task()
def draft_last_month(slot: str = "") -> int:
    """Monthly job: the draft statements of last month for every paid person who has none
    (``commissions.services.draft_missing_statements``). Running it twice makes nothing new."""
    from django.utils import timezone

    from salesflow.commissions.services import draft_missing_statements

    return draft_missing_statements(last_month_key(slot or timezone.localdate().isoformat()))
