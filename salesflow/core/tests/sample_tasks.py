"""Tasks used by the task and scheduler tests (module-level, as the database backend needs)."""

from __future__ import annotations

from django_tasks import task

from salesflow.core.models import ScheduledRun


@task()
def add(a: int, b: int) -> int:
    return a + b


@task()
def mark(name: str, slot: str = "") -> str:
    """Idempotent: records one row per (name, slot) however often it runs."""
    ScheduledRun.objects.get_or_create(job=f"ran:{name}", slot=slot)
    return f"{name}:{slot}"


@task()
def fail() -> None:
    raise RuntimeError("boom")
