"""Helpers for background tasks (``django-tasks``, Django 6's ``django.tasks`` API).

Tasks are declared with ``@task`` from :mod:`django_tasks` in an app's ``tasks.py``. They take
ids (never model instances), reload what they need, call services and are idempotent: a
task may run twice (a worker crash after the work, a scheduler race) and must then do nothing
the second time. Services enqueue side effects with :func:`enqueue_on_commit` so a task
never runs for a transaction that rolled back, nor before its rows are visible.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from django.core.management import call_command
from django.db import transaction
from django_tasks import task, task_backends
from django_tasks.base import Task


def enqueue_on_commit(task: Task[Any, Any], *args: Any, **kwargs: Any) -> None:
    """Enqueue ``task(*args, **kwargs)`` once the current transaction commits.

    Outside a transaction it is enqueued at once. If the transaction rolls back nothing is
    enqueued. Arguments must be JSON-serialisable (ids, strings, numbers).
    """
    transaction.on_commit(functools.partial(task.enqueue, *args, **kwargs), robust=True)


#: ``ScheduledRun`` rows older than this are deleted by :func:`prune_finished_tasks`.
SCHEDULED_RUN_DAYS = 62


@task()
def prune_finished_tasks(slot: str = "") -> None:
    """Delete finished task results older than 14 days (failed ones after 30) from the queue
    table, and the scheduler's exactly-once rows (``ScheduledRun``) older than
    :data:`SCHEDULED_RUN_DAYS` days. Those rows only guard slots that can still come round:
    a periodic job's current slot (at most a month: ``Monthly``) and the on-demand refreshes
    of ``core.scheduling.enqueue_once`` (minutes), so older ones guard nothing. Idempotent."""
    from django.utils import timezone
    from django_tasks_db.backend import DatabaseBackend

    from salesflow.core.models import ScheduledRun

    ScheduledRun.objects.filter(enqueued_at__lt=timezone.now() - timedelta(days=SCHEDULED_RUN_DAYS)).delete()

    if not isinstance(task_backends["default"], DatabaseBackend):
        return
    call_command("prune_db_task_results", queue_name="*", min_age_days=14, failed_min_age_days=30, verbosity=0)
