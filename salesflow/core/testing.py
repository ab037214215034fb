"""Test helpers for background work: run the real worker loop against the test database."""

from __future__ import annotations

from unittest import mock

from django_tasks_db.management.commands import db_worker
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def run_worker(*, max_rounds: int = 10) -> int:
    """Run every ready task through django-tasks-db's own worker loop; return how many ran.

    Tasks enqueued by tasks are run too (up to ``max_rounds`` passes). Callers that enqueue
    with ``enqueue_on_commit`` must let the callbacks run first (pytest-django's
    ``django_capture_on_commit_callbacks(execute=True)``).
    """
    ran = 0
    # The worker closes "obsolete" connections between tasks; inside a test's transaction
    # that would close the test's own connection, so only that housekeeping is skipped.
    with mock.patch.object(db_worker, "close_old_connections", lambda: None):
        for _ in range(max_rounds):
            done = _run_batch()
            if not done:
                break
            ran += done
    return ran


def _run_batch() -> int:
    """One ``db_worker --batch`` pass: every task ready now, then the worker exits."""
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
    return DBTaskResult.objects.exclude(status="READY").count() - before
