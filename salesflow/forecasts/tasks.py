"""The forecast reminder job (listed in ``salesflow/schedule.py`` as
``forecasts.remind_submissions``)."""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from django_tasks import task

from salesflow.forecasts.selectors import due_reminders
from salesflow.forecasts.services import reminder_send


@task()
def remind_submissions(slot: str = "") -> int:
    """Daily: remind each person who sells and has not submitted their forecast of this month
    or this quarter, in the days before its due day (``selectors.due_reminders``); returns how
    many reminders were sent. ``slot`` is the day (ISO) it works as of; a person is reminded
    of a period once however often it runs (``ForecastReminder``)."""
    try:
        today = date.fromisoformat(slot) if slot else timezone.localdate()
    except ValueError:
        today = timezone.localdate()
    return sum(
        reminder_send(user=user, period=period, due=due) is not None for user, period, due in due_reminders(today)
    )
