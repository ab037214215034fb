"""Work reports (issue 7) through the notification rules: a submitted report tells the
manager it went to, a comment tells the author, a missing report reminds its author — once,
however often the reminder job runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from salesflow.core.testing import run_worker
from salesflow.notifications.models import Notification
from salesflow.users.testing import Personas
from salesflow.workreports.services import report_comment, report_get_or_create_draft, report_submit, report_update
from salesflow.workreports.tasks import REMIND_EVERY, remind_missing_reports

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Any:
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


def test_submit_notifies_the_manager_and_a_comment_the_author(personas: Personas, committed: Any) -> None:
    with committed():
        report, _created = report_get_or_create_draft(actor=personas.rep, kind="daily", day=date(2026, 11, 18))
        report_update(actor=personas.rep, report=report, plans="明天报价")
        report_submit(actor=personas.rep, report=report)
    note = Notification.objects.get(kind="workreports.report.submitted")
    assert note.recipient == personas.manager and note.url == f"/work-reports/{report.pk}/"
    assert note.summary["zh-hans"] == "张伟 提交了日报 2026-11-18。"
    with committed():
        report_comment(actor=personas.manager, report=report, body="好")
        report_comment(actor=personas.admin, report=report, body="加油")
    notes = Notification.objects.filter(kind="workreports.report.commented").order_by("pk")
    assert [n.recipient for n in notes] == [personas.rep, personas.rep]
    assert notes[0].summary["en"] == "王经理 commented on your Daily report 2026-11-18."
    assert Notification.objects.filter(recipient=personas.manager).count() == 1  # nothing for his own comment


def test_the_reminder_job_twice_notifies_once(personas: Personas, committed: Any) -> None:
    moment = datetime.combine(date(2026, 11, 18), time(18, 5), tzinfo=ZoneInfo("Asia/Shanghai"))
    slot = str(int(moment.timestamp() // REMIND_EVERY.total_seconds()))
    with committed():
        remind_missing_reports.call(slot=slot)
    with committed():
        remind_missing_reports.call(slot=slot)
    notes = Notification.objects.filter(kind="workreports.reminder")
    assert sorted(n.recipient.username for n in notes) == ["outsider", "rep", "teammate"]
    assert all(n.url == "/work-reports/" for n in notes)
