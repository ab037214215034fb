"""The process-intelligence jobs (to be listed in ``salesflow/schedule.py``): keep the fact
tables of ``process.models`` up to date so the process pages read pre-aggregated rows."""

from __future__ import annotations

from django_tasks import task

from salesflow.process.facts import refresh_facts


@task()
def refresh_process_facts(slot: str = "") -> dict[str, int]:
    """Every 10 minutes: fold in the new stage exits and the deals changed since the last
    run, and re-derive the open stays. Idempotent."""
    return refresh_facts(full=False)


@task()
def rebuild_process_facts(slot: str = "") -> dict[str, int]:
    """Nightly: rebuild the fact tables from scratch (picks up edited accounts' segments and
    deleted deals). Idempotent."""
    return refresh_facts(full=True)
