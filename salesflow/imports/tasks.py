"""Background task of imports: running (or resuming) an import job."""

from __future__ import annotations

from django_tasks import task


@task()
def run_import(job_id: int) -> int:
    """Run queued import job ``job_id``; returns the number of records created (0 when the
    job was not queued any more: the task is idempotent)."""
    from salesflow.imports.services import import_execute

    job = import_execute(job_id=job_id)
    return job.created_count if job is not None else 0
