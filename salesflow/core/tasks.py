"""Helpers for background tasks (``django-tasks``, Django 6's ``django.tasks`` API).

Tasks are declared with ``@task`` from :mod:`django_tasks` in an app's ``tasks.py``. They take
ids (never model instances), reload what they need, call services and are idempotent: a
task may run twice (a worker crash after the work, a scheduler race) and must then do nothing
the second time. Services enqueue side effects with :func:`enqueue_on_commit` so a task
never runs for a transaction that rolled back, nor before its rows are visible.
"""

from __future__ import annotations

import functools
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


@task()
def prune_finished_tasks(slot: str = "") -> None:
    """Delete finished task results older than 14 days (failed ones after 30) from the queue table."""
    from django_tasks_db.backend import DatabaseBackend

    if not isinstance(task_backends["default"], DatabaseBackend):
        return
    call_command("prune_db_task_results", queue_name="*", min_age_days=14, failed_min_age_days=30, verbosity=0)
