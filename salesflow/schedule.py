"""The one registry of periodic jobs. ``salesflow scheduler`` enqueues them when due.

Each job's task takes a ``slot`` keyword (the date for daily jobs) and is idempotent for it.
Add a job here, never elsewhere; ``salesflow scheduler --list`` shows them.
"""

from __future__ import annotations

from datetime import time

from salesflow.core import tasks as core_tasks
from salesflow.core.scheduling import Daily, PeriodicJob

JOBS: list[PeriodicJob] = [
    PeriodicJob(
        name="core.prune_finished_tasks",
        schedule=Daily(at=time(3, 30)),
        task=core_tasks.prune_finished_tasks,
        description="Delete finished background-task results older than two weeks.",
    ),
]
