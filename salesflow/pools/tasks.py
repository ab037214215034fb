"""The recycle job (listed in ``salesflow/schedule.py`` as ``pools.recycle``)."""

from __future__ import annotations

from django_tasks import task

from salesflow.pools.services import recycle_run


@task()
def recycle(slot: str = "") -> int:
    """Daily: apply the recycle rules (warn owners ahead, return overdue records to their
    pools); returns how many records were warned about or recycled. Idempotent for a slot:
    recycled records have no owner, and warnings are kept to one per rule, record and date."""
    result = recycle_run()
    return result.warned + result.recycled
