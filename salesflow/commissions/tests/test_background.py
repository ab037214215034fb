""" "Compute for everyone I manage" runs as a background task with progress, never in the
request; the monthly job drafts last month's statements and running it twice makes nothing new."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from salesflow.commissions import selectors
from salesflow.commissions.choices import Basis, RunStatus, StatementStatus
from salesflow.commissions.models import CommissionStatement, ComputeRun
from salesflow.commissions.selectors import TargetInfo
from salesflow.commissions.tasks import draft_last_month, last_month_key
from salesflow.commissions.tests.util import plan, rule, won
from salesflow.core.scheduling import Monthly, enqueue_due_jobs, registered_jobs
from salesflow.core.testing import run_worker
from salesflow.users.models import User
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db
YEAR = timezone.localdate().year - 1


@pytest.fixture
def world(personas: Personas, monkeypatch: pytest.MonkeyPatch) -> Personas:
    monkeypatch.setattr(selectors, "rep_target", lambda rep, metric, period: TargetInfo(None, None, None))
    rule(plan(YEAR), Basis.WON, "3.00")
    won(personas.rep, "1000.00", date(YEAR, 3, 5))
    won(personas.teammate, "200.00", date(YEAR, 3, 6))
    return personas


def _statements() -> list[tuple[str, str, str, Decimal]]:
    return sorted(CommissionStatement.objects.values_list("rep__username", "period_key", "status", "commission_total"))


def test_everyone_i_manage_is_computed_by_the_worker_with_progress(
    world: Personas, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    p = world
    client = client_for(p.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("commissions:generate"), {"rep": "", "period": f"{YEAR}-03"})
    assert response.status_code == 302
    # nothing computed in the request: a queued run, shown on the page
    assert CommissionStatement.objects.count() == 0
    run = ComputeRun.objects.get()
    assert (run.requested_by, run.period_key, run.status, run.done) == (p.manager, f"{YEAR}-03", RunStatus.QUEUED, 0)
    page = client.get(reverse("commissions:statements"))
    assert 'data-testid="commissions-progress"' in page.content.decode()
    assert 'hx-trigger="every 2s"' in page.content.decode()  # polls while it runs
    assert run_worker() >= 1
    run.refresh_from_db()
    managed = sorted(User.objects.filter(team_id__in=[p.department.pk, p.team_a.pk]).values_list("username", flat=True))
    assert (run.status, run.total, run.done, run.made, run.failures) == (
        RunStatus.DONE,
        len(managed),
        len(managed),
        len(managed),
        [],
    )
    got = _statements()
    assert [row[0] for row in got] == managed
    assert ("rep", f"{YEAR}-03", StatementStatus.DRAFT, 30) in [(a, b, c, int(d)) for a, b, c, d in got]
    progress = client.get(reverse("commissions:progress")).content.decode()
    assert f"{len(managed)} / {len(managed)}" in progress and "every 2s" not in progress
    # the task running again changes nothing
    before = _statements()
    from salesflow.commissions.tasks import compute_statements

    assert compute_statements.call(run.pk) == len(managed)
    assert _statements() == before


@pytest.mark.parametrize(
    ("who", "period"),
    [("rep", f"{YEAR}-03"), ("support", f"{YEAR}-03"), ("manager", f"{YEAR + 3}-03"), ("manager", "2026-13")],
)
def test_refused_computations_queue_nothing(
    world: Personas, client_for: Any, django_capture_on_commit_callbacks: Any, who: str, period: str
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client_for(getattr(world, who)).post(reverse("commissions:generate"), {"rep": "", "period": period})
    assert ComputeRun.objects.count() == 0
    assert run_worker() == 0
    assert CommissionStatement.objects.count() == 0


def test_monthly_job_drafts_last_month_once(world: Personas) -> None:
    p = world
    assert last_month_key(f"{YEAR}-04") == f"{YEAR}-03" and last_month_key(f"{YEAR + 1}-01-01") == f"{YEAR}-12"
    everyone = sorted(User.objects.filter(is_active=True, team__isnull=False).values_list("username", flat=True))
    assert draft_last_month.call(slot=f"{YEAR}-04") == len(everyone)
    first = _statements()
    assert [row[0] for row in first] == everyone
    assert {(row[1], row[2]) for row in first} == {(f"{YEAR}-03", StatementStatus.DRAFT)}
    # the second run of the same slot makes nothing new and changes nothing
    assert draft_last_month.call(slot=f"{YEAR}-04") == 0
    assert _statements() == first
    # a person who joins a team later gets theirs on the next run; the others are untouched
    p.outsider.team = p.team_a
    p.outsider.save()
    CommissionStatement.objects.filter(rep=p.outsider).delete()
    assert draft_last_month.call(slot=f"{YEAR}-04") == 1
    # no plan covers the month: nothing
    assert draft_last_month.call(slot=f"{YEAR + 3}-04") == 0


def test_the_monthly_job_is_scheduled_once_a_month() -> None:
    job = next(j for j in registered_jobs() if j.name == "commissions.draft_last_month")
    assert job.schedule == Monthly(day=1, at=time(1, 30))
    assert job.schedule.slot(datetime(2026, 11, 30, 23, 0, tzinfo=UTC)) == "2026-12"  # Shanghai: 1 Dec 07:00
    assert job.schedule.slot(datetime(2026, 11, 30, 17, 0, tzinfo=UTC)) is None  # 1 Dec 01:00, before 01:30
    first = enqueue_due_jobs([job], now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    assert first == ["commissions.draft_last_month"]
    assert enqueue_due_jobs([job], now=datetime(2026, 12, 20, 0, 0, tzinfo=UTC)) == []


def test_the_api_queues_the_same_computation(
    world: Personas, api_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    p = world
    api = api_for(p.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/commissions/statements/compute", {"period": f"{YEAR}-03"})
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["period"], body["done"], body["made"]) == ("queued", f"{YEAR}-03", 0, 0)
    assert CommissionStatement.objects.count() == 0
    run_worker()
    done = api.get(f"/commissions/compute-runs/{body['run_id']}").json()
    assert done["status"] == "done" and done["made"] == done["total"] == CommissionStatement.objects.count() > 0
    # someone else's run is not found; refused computations queue nothing
    assert api_for(p.other_manager).get(f"/commissions/compute-runs/{body['run_id']}").status_code == 404
    assert api_for(p.admin).get(f"/commissions/compute-runs/{body['run_id']}").status_code == 200
    assert api_for(p.rep).post("/commissions/statements/compute", {"period": f"{YEAR}-03"}).status_code == 403
    bad = api.post("/commissions/statements/compute", {"period": "2026-13"})
    assert bad.status_code == 400 and "period" in bad.json()["errors"]
    assert api.post("/commissions/statements/compute", {"period": f"{YEAR}-03", "x": 1}).status_code in (400, 422)
    assert ComputeRun.objects.count() == 1
