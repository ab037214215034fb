"""Background tasks: enqueue on commit, the real django-tasks-db worker loop, the scheduler."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesflow.core.models import ScheduledRun
from salesflow.core.scheduling import Daily, Every, PeriodicJob, enqueue_due_jobs, registered_jobs
from salesflow.core.tasks import enqueue_on_commit
from salesflow.core.testing import run_worker
from salesflow.core.tests import sample_tasks

pytestmark = pytest.mark.django_db


def test_enqueue_on_commit_waits_for_the_commit_and_the_worker_runs_the_task(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(sample_tasks.add, 2, 3)
        assert DBTaskResult.objects.count() == 0  # not before the commit
    row = DBTaskResult.objects.get()
    assert row.status == "READY"
    assert run_worker() == 1
    row.refresh_from_db()
    assert row.status == "SUCCESSFUL"
    assert row.task_result.return_value == 5


def test_enqueue_on_commit_enqueues_nothing_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                enqueue_on_commit(sample_tasks.add, 1, 1)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert DBTaskResult.objects.count() == 0


def test_a_failing_task_is_recorded_as_failed_and_the_worker_goes_on():
    sample_tasks.fail.enqueue()
    sample_tasks.add.enqueue(1, 2)
    assert run_worker() == 2
    assert sorted(DBTaskResult.objects.values_list("status", flat=True)) == ["FAILED", "SUCCESSFUL"]


def test_daily_schedule_slots_in_the_configured_time_zone():
    daily = Daily(at=time(8, 0), tz="Asia/Shanghai")
    # 23:30 UTC on 1 Dec is 07:30 on 2 Dec in Shanghai: not due yet
    assert daily.slot(datetime(2026, 12, 1, 23, 30, tzinfo=UTC)) is None
    assert daily.slot(datetime(2026, 12, 2, 0, 0, tzinfo=UTC)) == "2026-12-02"
    assert daily.slot(datetime(2026, 12, 2, 15, 59, tzinfo=UTC)) == "2026-12-02"
    assert daily.slot(datetime(2026, 12, 2, 16, 0, tzinfo=UTC)) is None  # 00:00 on the 3rd, before 08:00


def test_every_schedule_slots_are_interval_numbers():
    every = Every(timedelta(minutes=15))
    assert every.slot(datetime(2026, 12, 2, 10, 14, tzinfo=UTC)) == every.slot(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    assert every.slot(datetime(2026, 12, 2, 10, 15, tzinfo=UTC)) != every.slot(
        datetime(2026, 12, 2, 10, 14, tzinfo=UTC)
    )
    with pytest.raises(ValueError):
        Every(timedelta(seconds=10))


def _job(name: str = "sample.mark") -> PeriodicJob:
    return PeriodicJob(
        name=name, schedule=Daily(at=time(8, 0), tz="UTC"), task=sample_tasks.mark, kwargs={"name": name}
    )


def test_scheduler_enqueues_each_slot_once_and_the_worker_runs_it():
    job = _job()
    morning = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert enqueue_due_jobs([job], now=datetime(2026, 12, 2, 7, 59, tzinfo=UTC)) == []
    assert enqueue_due_jobs([job], now=morning) == ["sample.mark"]
    assert enqueue_due_jobs([job], now=morning + timedelta(hours=3)) == []  # same slot: nothing
    assert DBTaskResult.objects.count() == 1
    run = ScheduledRun.objects.get(job="sample.mark")
    assert run.slot == "2026-12-02"
    assert run.task_result_id == str(DBTaskResult.objects.get().id)
    assert run_worker() == 1
    assert ScheduledRun.objects.filter(job="ran:sample.mark", slot="2026-12-02").count() == 1
    assert enqueue_due_jobs([job], now=morning + timedelta(days=1)) == ["sample.mark"]  # next day's slot


def test_a_slot_claimed_by_another_scheduler_is_not_enqueued_again():
    ScheduledRun.objects.create(job="sample.mark", slot="2026-12-02")  # the other scheduler won
    assert enqueue_due_jobs([_job()], now=datetime(2026, 12, 2, 9, 0, tzinfo=UTC)) == []
    assert DBTaskResult.objects.count() == 0


def test_running_the_same_job_twice_is_harmless():
    sample_tasks.mark.enqueue(name="twice", slot="s")
    sample_tasks.mark.enqueue(name="twice", slot="s")
    assert run_worker() == 2
    assert ScheduledRun.objects.filter(job="ran:twice").count() == 1


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="concurrent connections need PostgreSQL (the SQLite test database is in memory)",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_schedulers_enqueue_a_slot_once():
    now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    barrier = threading.Barrier(4)
    results: list[list[str]] = []

    def scheduler() -> None:
        try:
            barrier.wait()
            results.append(enqueue_due_jobs([_job()], now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert DBTaskResult.objects.count() == 1


def test_the_registry_is_valid_and_the_scheduler_command_runs_once():
    jobs = registered_jobs()
    assert len({job.name for job in jobs}) == len(jobs)
    call_command("scheduler", "--once", verbosity=0)
    call_command("scheduler", "--list")


def test_prune_job_deletes_only_old_finished_results():
    sample_tasks.add.enqueue(1, 1)
    sample_tasks.add.enqueue(2, 2)
    run_worker()
    old = DBTaskResult.objects.order_by("enqueued_at")[0]
    DBTaskResult.objects.filter(pk=old.pk).update(finished_at=old.finished_at - timedelta(days=15))
    sample_tasks.add.enqueue(3, 3)  # still waiting: never pruned
    from salesflow.core.tasks import prune_finished_tasks

    prune_finished_tasks.enqueue(slot="x")
    run_worker()
    assert not DBTaskResult.objects.filter(pk=old.pk).exists()
    assert DBTaskResult.objects.count() == 3


def test_prune_job_deletes_old_scheduler_rows_only() -> None:
    """The exactly-once rows of the scheduler and of on-demand refreshes older than
    SCHEDULED_RUN_DAYS go; recent ones (they still guard their slot) stay; twice: no change."""
    from salesflow.core.models import ScheduledRun
    from salesflow.core.tasks import SCHEDULED_RUN_DAYS, prune_finished_tasks

    now = timezone.now()
    ScheduledRun.objects.create(job="a", slot="old", enqueued_at=now - timedelta(days=SCHEDULED_RUN_DAYS + 1))
    ScheduledRun.objects.create(job="a", slot="edge", enqueued_at=now - timedelta(days=SCHEDULED_RUN_DAYS - 1))
    ScheduledRun.objects.create(job="b", slot="2026-12", enqueued_at=now)
    prune_finished_tasks.call(slot="x")
    prune_finished_tasks.call(slot="x")
    assert sorted(ScheduledRun.objects.values_list("slot", flat=True)) == ["2026-12", "edge"]
