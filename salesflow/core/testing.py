"""Test helpers for background work: run the real worker loop against the test database."""

from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def run_worker(*, max_rounds: int = 10) -> int:
    """Run every ready task through django-tasks-db's own worker loop; return how many ran.

    Tasks enqueued by tasks are run too (up to ``max_rounds`` passes). Callers that enqueue
    with ``enqueue_on_commit`` must let the callbacks run first (pytest-django's
    ``django_capture_on_commit_callbacks(execute=True)``).
    """
    ran = 0
    for _ in range(max_rounds):
        before = DBTaskResult.objects.exclude(status="READY").count()
        Worker(
            queue_names=["*"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="pytest",
            excluded_queue_names=[],
        ).run()
        done = DBTaskResult.objects.exclude(status="READY").count() - before
        if not done:
            break
        ran += done
    return ran
