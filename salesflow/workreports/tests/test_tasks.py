"""The reminder job: after the reminder time on working days, once per person and period;
runs twice without a duplicate; submitted reports and weekends are left alone."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from salesflow.core.models import AuditEvent
from salesflow.core.scheduling import registered_jobs
from salesflow.users.testing import Personas
from salesflow.workreports.models import WorkReport, WorkReportReminder
from salesflow.workreports.services import report_get_or_create_draft, report_submit, report_update
from salesflow.workreports.tasks import REMIND_EVERY, remind_missing_reports

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
WEDNESDAY = date(2026, 11, 18)
FRIDAY = date(2026, 11, 20)
SATURDAY = date(2026, 11, 21)


def _slot(day: date, hour: int, minute: int = 0, zone: ZoneInfo = SH) -> str:
    moment = datetime.combine(day, time(hour, minute), tzinfo=zone)
    return str(int(moment.timestamp() // REMIND_EVERY.total_seconds()))


def _reminded() -> set[tuple[str, str, date]]:
    return set(WorkReportReminder.objects.values_list("user__username", "kind", "period_start"))


def _submit(personas: Personas, user_name: str, kind: str, day: date, monkeypatch: Any) -> WorkReport:
    user = personas.all()[user_name]
    monkeypatch.setattr("salesflow.workreports.services.timezone.localdate", lambda *a, **k: day)
    report, _created = report_get_or_create_draft(actor=user, kind=kind, day=day)
    report_update(actor=user, report=report, plans="计划")
    return report_submit(actor=user, report=report)


def test_the_job_is_registered() -> None:
    assert "workreports.remind_missing" in {job.name for job in registered_jobs()}


def test_reminders_go_once_to_reps_without_a_submitted_report(personas: Personas, monkeypatch: Any) -> None:
    _submit(personas, "teammate", "daily", WEDNESDAY, monkeypatch)
    assert remind_missing_reports.call(slot=_slot(WEDNESDAY, 17, 30)) == 0  # before 18:00
    assert remind_missing_reports.call(slot=_slot(WEDNESDAY, 18, 0)) == 2  # rep and outsider
    assert remind_missing_reports.call(slot=_slot(WEDNESDAY, 18, 0)) == 0  # the same slot twice
    assert remind_missing_reports.call(slot=_slot(WEDNESDAY, 21, 30)) == 0  # a later slot: once per day
    assert _reminded() == {("rep", "daily", WEDNESDAY), ("outsider", "daily", WEDNESDAY)}
    events = AuditEvent.objects.filter(verb="workreports.reminder.sent")
    assert events.count() == 2 and {e.actor.username for e in events if e.actor} == {"system"}


def test_a_draft_is_still_missing_and_a_submitted_report_is_not(personas: Personas, monkeypatch: Any) -> None:
    monkeypatch.setattr("salesflow.workreports.services.timezone.localdate", lambda *a, **k: WEDNESDAY)
    report_get_or_create_draft(actor=personas.rep, kind="daily", day=WEDNESDAY)
    _submit(personas, "outsider", "daily", WEDNESDAY, monkeypatch)
    assert remind_missing_reports.call(slot=_slot(WEDNESDAY, 18, 30)) == 2  # rep (draft) and teammate
    assert ("outsider", "daily", WEDNESDAY) not in _reminded()


def test_weekends_and_the_weekly_report(personas: Personas, monkeypatch: Any, settings: Any) -> None:
    assert remind_missing_reports.call(slot=_slot(SATURDAY, 19)) == 0
    _submit(personas, "rep", "weekly", FRIDAY, monkeypatch)
    assert remind_missing_reports.call(slot=_slot(FRIDAY, 18)) == 5  # 3 daily + 2 weekly (rep's is in)
    assert ("teammate", "weekly", date(2026, 11, 16)) in _reminded()
    assert ("rep", "weekly", date(2026, 11, 16)) not in _reminded()
    # working days and the time are settings: a six-day week, reminders at 20:00
    settings.SALESFLOW_WORK_REPORT_DAYS = [1, 2, 3, 4, 5, 6]
    settings.SALESFLOW_WORK_REPORT_REMIND_AT = "20:00"
    assert remind_missing_reports.call(slot=_slot(SATURDAY, 19)) == 0
    assert remind_missing_reports.call(slot=_slot(SATURDAY, 20)) == 3


def test_each_person_is_reminded_in_their_own_time_zone(personas: Personas) -> None:
    personas.outsider.time_zone = "America/Los_Angeles"
    personas.outsider.save(update_fields=["time_zone"])
    # 18:00 in Shanghai is 02:00 in Los Angeles: only the Shanghai reps
    assert remind_missing_reports.call(slot=_slot(WEDNESDAY, 18)) == 2
    la = ZoneInfo("America/Los_Angeles")
    assert remind_missing_reports.call(slot=_slot(WEDNESDAY, 18, zone=la)) == 1
    assert ("outsider", "daily", WEDNESDAY) in _reminded()
