"""The daily digest: per-user day, once per user per day, through the scheduler and worker."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from salesflow.activities.models import Activity
from salesflow.core.scheduling import enqueue_due_jobs, registered_jobs
from salesflow.notifications.digest import send_digests
from salesflow.notifications.kinds import DAILY_DIGEST
from salesflow.notifications.models import Notification

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 12, 2, 8, 0, tzinfo=SH)


def _task(owner, subject, due, done=False):
    return Activity.objects.create(owner=owner, kind="task", subject=subject, due_at=due, done=done)


@pytest.fixture
def tasks(personas):
    _task(personas.rep, "回访星云", datetime(2026, 12, 1, 17, 0, tzinfo=SH))  # overdue
    _task(personas.rep, "报价给远航", datetime(2026, 12, 2, 23, 30, tzinfo=SH))  # due today (late evening)
    _task(personas.rep, "明天的事", datetime(2026, 12, 3, 0, 0, tzinfo=SH))  # tomorrow: not listed
    _task(personas.rep, "已完成", datetime(2026, 12, 1, 9, 0, tzinfo=SH), done=True)
    _task(personas.teammate, "下周", datetime(2026, 12, 9, 9, 0, tzinfo=SH))
    return personas


def test_digest_lists_due_today_and_overdue_once_per_day(tasks, settings):
    settings.LANGUAGE_CODE = "en"
    assert send_digests(MORNING) == 1
    n = Notification.objects.get()
    assert (n.recipient, n.kind, n.dedupe_key, n.url) == (tasks.rep, DAILY_DIGEST, "digest:2026-12-02", "/")
    assert n.summary == {
        "en": "Your day: 1 task due today, 1 overdue. 回访星云 · 报价给远航",
        "zh-hans": "今日：今天到期 1 项任务，已逾期 1 项。回访星云 · 报价给远航",
    }
    assert send_digests(MORNING + timedelta(hours=3)) == 0  # same day: nothing new
    assert send_digests(MORNING + timedelta(days=1)) == 1  # next day: again (both are overdue now)
    assert Notification.objects.filter(recipient=tasks.teammate).count() == 0


def test_no_digest_before_half_past_seven_in_the_users_zone(tasks):
    assert send_digests(datetime(2026, 12, 2, 7, 29, tzinfo=SH)) == 0
    assert send_digests(datetime(2026, 12, 2, 7, 30, tzinfo=SH)) == 1


def test_digest_runs_from_the_registry_through_scheduler_and_worker(tasks, committed):
    job = next(job for job in registered_jobs() if job.name == "notifications.daily_digest")
    with committed():
        assert enqueue_due_jobs([job], now=MORNING) == ["notifications.daily_digest"]
        assert enqueue_due_jobs([job], now=MORNING + timedelta(minutes=10)) == []  # same half-hour slot
    n = Notification.objects.get(kind=DAILY_DIGEST)
    assert n.recipient == tasks.rep
    assert [m.to for m in mail.outbox] == [["rep@example.com"]]
    with committed():  # the next slot the same day: the job runs, nobody gets a second digest
        assert enqueue_due_jobs([job], now=MORNING + timedelta(minutes=30)) == ["notifications.daily_digest"]
    assert Notification.objects.filter(kind=DAILY_DIGEST).count() == 1
    assert len(mail.outbox) == 1
