"""Background tasks of exports: writing a large export, deleting expired files."""

from __future__ import annotations

from django_tasks import task


@task()
def run_export(job_id: int) -> int:
    """Write the file of export job ``job_id``; returns the number of rows (0 when already done)."""
    from salesflow.core.export_services import export_run

    job = export_run(job_id=job_id)
    return job.total if job is not None else 0


@task()
def purge_expired_exports(slot: str = "") -> int:
    """Delete exported files past their expiry (daily job in ``salesflow/schedule.py``)."""
    from salesflow.core.export_services import export_purge_expired

    return export_purge_expired()
