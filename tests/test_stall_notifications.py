"""Stall detection end to end (sales → notifications): the daily jobs from the registry
through the scheduler and the real worker; one notification per deal, step and episode,
the owner first and the manager after the ladder's further days; twice is once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from salesflow.core.models import AuditEvent
from salesflow.core.scheduling import enqueue_due_jobs, registered_jobs
from salesflow.core.testing import run_worker
from salesflow.notifications.kinds import OPPORTUNITY_STALL_ESCALATED, OPPORTUNITY_STALLED
from salesflow.notifications.models import Notification
from salesflow.sales.models import StageDwellStat, StallNotice
from salesflow.sales.tasks import escalate_stalled_deals
from salesflow.sales.tests.factories import make_opportunity
from salesflow.sales.tests.test_stall import age, exits

pytestmark = pytest.mark.django_db
DAY = 86400


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    @contextmanager
    def block() -> Iterator[None]:
        with django_capture_on_commit_callbacks(execute=True):
            yield
        for _ in range(5):
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                ran = run_worker()
            if not ran and not callbacks:
                break

    return block


def job(name: str) -> Any:
    return next(j for j in registered_jobs() if j.name == name)


def test_jobs_notify_owner_then_manager_once(personas, committed):
    anchor = make_opportunity(personas.teammate, stage_code="negotiation")
    exits(anchor, "prospect", personas.team_a.pk, [int(6 * DAY * i / 24) for i in range(1, 31)])  # p80 6 days
    by_team = age(make_opportunity(personas.rep, stage_code="prospect", name="团队基准停滞"), 8)
    late = age(make_opportunity(personas.rep, stage_code="prospect", name="长期停滞"), 20)
    now = timezone.now()
    stats, ladder = job("sales.compute_stage_dwell_stats"), job("sales.escalate_stalled_deals")
    with committed():
        assert enqueue_due_jobs([stats], now=now.replace(hour=3, tzinfo=UTC)) == [stats.name]
    assert StageDwellStat.objects.get(team=personas.team_a).sample_size == 30
    with committed():
        assert enqueue_due_jobs([ladder], now=now.replace(hour=9, tzinfo=UTC)) == [ladder.name]
    mine = Notification.objects.filter(recipient=personas.rep, kind=OPPORTUNITY_STALLED)
    assert [n.target_id for n in mine] == [by_team.pk]
    escalated = Notification.objects.get(kind=OPPORTUNITY_STALL_ESCALATED)
    # late: 20 days in a 6-day (team) threshold → 14 days stalled ≥ 5: already at the manager
    # step when first seen, so the manager is told and the owner step is skipped
    assert (escalated.recipient, escalated.target_id, escalated.url) == (
        personas.manager,
        late.pk,
        f"/opportunities/{late.pk}/",
    )
    summary = mine.get(target_id=by_team.pk).summary
    assert summary["en"] == (
        "Your opportunity “团队基准停滞” is stalled: 8 days in stage; team's 80th percentile 6 days from 30 deals."
    )
    assert "团队第 80 百分位为 6 天（基于 30 个商机）" in summary["zh-hans"]
    assert "张伟 的商机“长期停滞”已停滞" in escalated.summary["zh-hans"]
    # the job again the same day (a second slot, or a retried task): nothing new
    with committed():
        escalate_stalled_deals.call(slot="again")
    assert Notification.objects.filter(kind__in=[OPPORTUNITY_STALLED, OPPORTUNITY_STALL_ESCALATED]).count() == 2
    assert sorted(StallNotice.objects.values_list("opportunity_id", "skipped")) == sorted(
        [(by_team.pk, False), (late.pk, False), (late.pk, True)]
    )


def test_first_run_on_a_backlog_sends_digests_above_the_threshold(personas, committed, settings):
    """The job turned on over existing stalled deals: the manager gets ONE digest for the
    five deals at the manager step (more than 3), the rep two notifications of their own
    (not more than 3), the other team's manager one; skipped owner steps notify nobody.
    Twice is once."""
    settings.SALESFLOW_ESCALATION_DIGEST_OVER = 3
    backlog = [age(make_opportunity(personas.rep, stage_code="prospect", name=f"积压{i}"), 20) for i in range(5)]
    recent = [age(make_opportunity(personas.rep, stage_code="prospect", name=f"新停滞{i}"), 15) for i in range(2)]
    theirs = age(make_opportunity(personas.outsider, stage_code="prospect", name="华南停滞"), 20)
    with committed():
        assert escalate_stalled_deals.call(slot="first") == 8  # 5 + 2 + 1 steps taken
    assert StallNotice.objects.filter(skipped=True).count() == 6  # the owner steps of 5 + 1 deals
    assert StallNotice.objects.filter(skipped=False).count() == 8
    assert StallNotice.objects.filter(digest=True).count() == 5
    events = AuditEvent.objects.filter(verb__startswith="sales.").filter(verb__contains="stall")
    assert events.filter(verb="sales.opportunity.stalled").count() == 2
    assert events.filter(verb="sales.opportunity.stall_escalated", data__digest=True).count() == 5
    assert events.filter(verb="sales.opportunity.stall_escalated").count() == 6
    digest = events.get(verb="sales.stall.digest")
    assert digest.data == {
        "recipient": personas.manager.pk,
        "owner_step": False,
        "count": 5,
        "opportunities": [d.pk for d in backlog],
    }
    to_manager = Notification.objects.filter(recipient=personas.manager)
    assert to_manager.count() == 1
    note = to_manager.get()
    assert (note.kind, note.url) == (OPPORTUNITY_STALL_ESCALATED, "/opportunities/?stalled=1")
    assert note.summary["en"] == (
        "5 opportunities of your team stay stalled: “积压0”, “积压1”, “积压2”, “积压3”, “积压4”."
    )
    assert note.summary["zh-hans"] == "团队有 5 个商机仍处于停滞：“积压0”，“积压1”，“积压2”，“积压3”，“积压4”。"
    assert sorted(Notification.objects.filter(recipient=personas.rep).values_list("kind", "target_id")) == sorted(
        (OPPORTUNITY_STALLED, d.pk) for d in recent
    )
    assert list(Notification.objects.filter(recipient=personas.other_manager).values_list("target_id", flat=True)) == [
        theirs.pk
    ]
    assert Notification.objects.count() == 4
    with committed():
        assert escalate_stalled_deals.call(slot="again") == 0
    assert (Notification.objects.count(), StallNotice.objects.count(), events.count()) == (4, 14, 9)


def test_digest_names_five_and_counts_the_rest(personas, committed, settings):
    settings.SALESFLOW_ESCALATION_DIGEST_OVER = 2
    deals = [age(make_opportunity(personas.rep, stage_code="prospect", name=f"停{i}"), 15) for i in range(7)]
    with committed():
        assert escalate_stalled_deals.call(slot="x") == 7
    note = Notification.objects.get(recipient=personas.rep)
    assert (note.kind, note.url) == (OPPORTUNITY_STALLED, f"/opportunities/?stalled=1&owner={personas.rep.pk}")
    assert note.summary["en"] == "7 of your opportunities have stalled: “停0”, “停1”, “停2”, “停3”, “停4” and 2 more."
    assert len(deals) == StallNotice.objects.filter(digest=True, recipient=personas.rep).count()


def test_stats_job_twice_gives_the_same_rows(personas, committed):
    anchor = make_opportunity(personas.teammate, stage_code="negotiation")
    exits(anchor, "demo", None, [DAY * i for i in range(1, 41)])
    stats = job("sales.compute_stage_dwell_stats")
    with committed():
        enqueue_due_jobs([stats], now=datetime(2026, 12, 2, 3, 0, tzinfo=UTC))
    first = list(StageDwellStat.objects.values_list("team_id", "stage_id", "p80_seconds", "sample_size"))
    with committed():
        enqueue_due_jobs([stats], now=datetime(2026, 12, 3, 3, 0, tzinfo=UTC))
    assert list(StageDwellStat.objects.values_list("team_id", "stage_id", "p80_seconds", "sample_size")) == first
    assert first[0][2:] == (32 * DAY, 40)
    assert timedelta(seconds=first[0][2]).days == 32
