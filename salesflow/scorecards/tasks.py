"""The scorecards' periodic job (listed in ``salesflow/schedule.py`` as
``scorecards.refresh_funnel_facts``): store the closed months' stage passes that funnel math
reads instead of joining every closed deal with its stage changes (``scorecards.facts``)."""

from __future__ import annotations

from django_tasks import task

from salesflow.scorecards.facts import refresh_funnel_facts


@task()
def refresh_funnel_facts_task(slot: str = "") -> dict[str, int]:
    """Nightly, once the day is over: rebuild every month that has ended. Idempotent; a
    change made after it is picked up live by the readers (fingerprints, ``scorecards.facts``)."""
    return refresh_funnel_facts()
