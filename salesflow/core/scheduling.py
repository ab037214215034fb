"""Periodic jobs: what runs when, and enqueueing each due slot exactly once.

The jobs themselves are declared in ONE list, ``salesflow/schedule.py`` (named by the
``SALESFLOW_PERIODIC_JOBS`` setting, like ``ROOT_URLCONF``: it sits above every app, so it may
name any app's task). ``salesflow scheduler`` calls :func:`enqueue_due_jobs` every few seconds.

A schedule maps a moment to a *slot* (``"2026-12-02"`` for a daily job, the interval number
for an interval job). A slot is enqueued at most once, ever: the scheduler inserts a
``ScheduledRun(job, slot)`` row protected by a unique constraint in the same transaction as
the enqueue, so concurrent schedulers cannot both enqueue it. A scheduler that was down
catches up with the current slot only (a missed daily digest is sent late, not twice).
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks.base import Task

from salesflow.core.models import ScheduledRun

logger = logging.getLogger(__name__)


class Schedule(Protocol):
    def slot(self, now: datetime) -> str | None:
        """The slot due at ``now`` (``None`` if nothing is due yet)."""


@dataclass(frozen=True)
class Every:
    """Every ``interval`` (at least one minute), slots aligned to the Unix epoch."""

    interval: timedelta

    def __post_init__(self) -> None:
        if self.interval < timedelta(minutes=1):
            raise ValueError("interval must be at least one minute")

    def slot(self, now: datetime) -> str | None:
        return str(int(now.timestamp() // self.interval.total_seconds()))


@dataclass(frozen=True)
class Daily:
    """Once a day at ``at`` in ``tz`` (default: the ``TIME_ZONE`` setting); slot = the date."""

    at: time
    tz: str = ""

    def slot(self, now: datetime) -> str | None:
        local = now.astimezone(zoneinfo.ZoneInfo(self.tz or settings.TIME_ZONE))
        if local.time() < self.at:
            return None
        return local.date().isoformat()


@dataclass(frozen=True)
class Monthly:
    """Once a month, on ``day`` (1–28) at ``at`` in ``tz`` (default: the ``TIME_ZONE``
    setting); slot = the month (``"2026-12"``)."""

    day: int
    at: time
    tz: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.day <= 28:
            raise ValueError("day must be between 1 and 28")

    def slot(self, now: datetime) -> str | None:
        local = now.astimezone(zoneinfo.ZoneInfo(self.tz or settings.TIME_ZONE))
        if (local.day, local.time()) < (self.day, self.at):
            return None
        return f"{local.year:04d}-{local.month:02d}"


@dataclass(frozen=True)
class PeriodicJob:
    """A task enqueued on a schedule. ``name`` is stable: it keys the slots already run."""

    name: str
    schedule: Every | Daily | Monthly
    task: Task[Any, Any]
    description: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)


def registered_jobs() -> list[PeriodicJob]:
    jobs: list[PeriodicJob] = import_string(settings.SALESFLOW_PERIODIC_JOBS)
    names = [job.name for job in jobs]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate periodic job names in {settings.SALESFLOW_PERIODIC_JOBS}")
    return jobs


def enqueue_due_jobs(jobs: list[PeriodicJob] | None = None, *, now: datetime | None = None) -> list[str]:
    """Enqueue every job whose current slot has not been enqueued yet; return their names.

    Safe to call concurrently from several processes: each (job, slot) is enqueued once.
    With the database task backend the task row and the slot row commit together.
    """
    now = now or timezone.now()
    enqueued: list[str] = []
    for job in registered_jobs() if jobs is None else jobs:
        slot = job.schedule.slot(now)
        if slot is None:
            continue
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(job=job.name, slot=slot, enqueued_at=now)
                result = job.task.enqueue(**{"slot": slot, **job.kwargs})
                run.task_result_id = str(result.id)[:64]
                run.save(update_fields=["task_result_id"])
        except IntegrityError:
            continue  # another scheduler (or an earlier pass) already enqueued this slot
        logger.info("enqueued periodic job %s for slot %s", job.name, slot)
        enqueued.append(job.name)
    return enqueued


def enqueue_once(job: str, slot: str, task: Task[Any, Any], /, **kwargs: Any) -> bool:
    """Enqueue ``task(**kwargs)`` unless ``(job, slot)`` was enqueued already; ``True`` for the
    one caller that enqueued it. The same exactly-once row as the periodic jobs
    (``ScheduledRun``), for on-demand work that many readers may ask for at once (a page's
    background refresh): the first insert wins, the others get an IntegrityError and skip.
    ``job`` ≤ 100 characters, ``slot`` ≤ 40; a caller that wants to allow a retry later puts
    a time bucket in the slot."""
    now = timezone.now()
    try:
        with transaction.atomic():
            run = ScheduledRun.objects.create(job=job[:100], slot=slot[:40], enqueued_at=now)
            result = task.enqueue(**kwargs)
            run.task_result_id = str(result.id)[:64]
            run.save(update_fields=["task_result_id"])
    except IntegrityError:
        return False
    return True


def time_bucket(every: timedelta, now: datetime | None = None) -> str:
    """The number of the ``every``-long interval containing ``now`` (aligned to the epoch)."""
    return str(int((now or timezone.now()).timestamp() // every.total_seconds()))
