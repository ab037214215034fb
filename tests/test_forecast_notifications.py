"""Forecast submissions (issue 11) through the notification rules: people who sell are
reminded before this month's forecast is due (once, however often the daily job runs), the
manager above is told of a submission, and a team's manager of an adjustment made above."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from salesflow.analytics.selectors import Node
from salesflow.core.periods import period_containing
from salesflow.core.testing import run_worker
from salesflow.forecasts.models import ForecastReminder
from salesflow.forecasts.services import forecast_adjust, forecast_submit
from salesflow.forecasts.tasks import remind_submissions
from salesflow.notifications.models import Notification
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db

FIGURES: dict[str, Any] = {"commit": "100", "best_case": "200", "pipeline": "300"}


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


def test_the_reminder_job_twice_reminds_once_those_who_have_not_submitted(
    personas: Personas, committed: Any, settings: Any
) -> None:
    settings.SALESFLOW_FORECAST_DUE_DAY = 5
    settings.SALESFLOW_FORECAST_REMIND_DAYS = 3
    month = period_containing("month", timezone.localdate())
    with committed():
        forecast_submit(actor=personas.rep, rep=personas.rep, period_key=month.key, **FIGURES)
    Notification.objects.all().delete()
    # outside the window (after the due day): nothing
    assert remind_submissions.call(slot=(month.start + timedelta(days=5)).isoformat()) == 0
    in_window = (month.start + timedelta(days=1)).isoformat()  # the 2nd: 3 days before the 5th
    with committed():
        first = remind_submissions.call(slot=in_window)
    with committed():
        assert remind_submissions.call(slot=in_window) == 0
    notes = Notification.objects.filter(kind="forecasts.submission.due", url__endswith=f"period={month.key}")
    # people who sell and have not submitted (the rep has; admins, assistants and support do not sell)
    assert sorted(n.recipient.username for n in notes) == ["manager", "other_manager", "outsider", "teammate"]
    note = notes.get(recipient=personas.teammate)
    assert note.url == f"/forecasts/?period={month.key}"
    due = (month.start + timedelta(days=4)).isoformat()
    assert note.summary["en"] == f"Your forecast for {month.label} is due on {due}."
    assert "预测" in note.summary["zh-hans"] and due in note.summary["zh-hans"]
    # this quarter's forecast is reminded too when the month opens a quarter (fiscal year from January)
    quarter_reminders = ForecastReminder.objects.exclude(period_key=month.key).count()
    assert quarter_reminders == (5 if month.start.month in (1, 4, 7, 10) else 0)
    assert first == 4 + quarter_reminders
    assert ForecastReminder.objects.count() == first


def test_a_submission_tells_the_manager_above_and_an_adjustment_above_the_team_manager(
    personas: Personas, committed: Any
) -> None:
    p = personas
    key = period_containing("month", timezone.localdate()).key
    with committed():
        forecast_submit(actor=p.rep, rep=p.rep, period_key=key, **FIGURES)
    note = Notification.objects.get(kind="forecasts.submission.received")
    assert note.recipient == p.manager  # team_a has no manager: the department's
    assert note.url == f"/forecasts/team/?period={key}"
    assert note.summary["en"].startswith("张伟 submitted their forecast for ") and "commit 100.00" in note.summary["en"]
    with committed():
        forecast_submit(actor=p.manager, rep=p.manager, period_key=key, **FIGURES)  # nobody above him
        forecast_submit(actor=p.assistant, rep=p.rep, period_key=key, commit="120", best_case="200", pipeline="300")
    assert Notification.objects.filter(kind="forecasts.submission.received").count() == 2
    # adjustments: the manager of a team adjusted by someone above; his own adjustment tells nobody
    with committed():
        forecast_adjust(actor=p.manager, node=Node("team", p.team_a.pk), period_key=key, **FIGURES)
    assert not Notification.objects.filter(kind="forecasts.adjustment.received").exists()
    with committed():
        forecast_adjust(actor=p.admin, node=Node("team", p.department.pk), period_key=key, **FIGURES)
        forecast_adjust(actor=p.admin, node=Node("team", p.team_b.pk), period_key=key, **FIGURES)
        forecast_adjust(actor=p.admin, node=Node("company"), period_key=key, **FIGURES)
    adjusted = Notification.objects.filter(kind="forecasts.adjustment.received").order_by("pk")
    assert [n.recipient for n in adjusted] == [p.manager, p.other_manager]
    assert adjusted[0].url == f"/forecasts/team/?node=team%3A{p.department.pk}&period={key}"
    assert adjusted[1].summary["en"].startswith("系统管理员 adjusted the forecast of 华南一组 for ")
