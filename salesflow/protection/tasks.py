"""Background tasks of customer protection: loading a large known-customer list."""

from __future__ import annotations

from django_tasks import task


@task()
def run_known_customer_load(load_id: int) -> int:
    """Load the stored rows of list load ``load_id``; returns the rows created (idempotent:
    a load already done returns its count and writes nothing)."""
    from salesflow.protection.services import known_customers_load_run

    load = known_customers_load_run(load_id=load_id)
    return load.created if load is not None else 0
