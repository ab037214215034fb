"""Issue 10: funnel math's stored months are kept by a job of the one schedule registry, and
running it twice for the same slot writes the same rows."""

from __future__ import annotations

import pytest
from django.utils import timezone

from salesflow.schedule import JOBS
from salesflow.scorecards.models import ClosedMonthFact, FunnelFactsState
from salesflow.scorecards.tasks import refresh_funnel_facts_task

pytestmark = pytest.mark.django_db


def test_the_funnel_facts_job_is_scheduled_and_idempotent() -> None:
    job = next(j for j in JOBS if j.name == "scorecards.refresh_funnel_facts")
    assert job.task is refresh_funnel_facts_task
    slot = timezone.localdate().isoformat()
    first = job.task.call(slot=slot)
    assert job.task.call(slot=slot) == first
    assert FunnelFactsState.objects.count() == 1
    assert ClosedMonthFact.objects.count() == first["closed_months"]
