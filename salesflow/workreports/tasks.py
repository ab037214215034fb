"""The reminder job for missing work reports (listed in ``salesflow/schedule.py``).

Every half hour it looks at each person expected to report (``SALESFLOW_WORK_REPORT_ROLES``)
in their own time zone: on a working day (``SALESFLOW_WORK_REPORT_DAYS``) after
``SALESFLOW_WORK_REPORT_REMIND_AT`` without a submitted daily report for the day, they are
reminded; on ``SALESFLOW_WEEKLY_REPORT_REMIND_DAY`` after that time without a submitted weekly
report for the week, too. Idempotent: at most one reminder per person and period (a unique
``WorkReportReminder`` row), so a rerun of a slot or a later slot of the same day adds nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from salesflow.users.models import User
from salesflow.workreports import periods
from salesflow.workreports.choices import ReportKind, ReportStatus
from salesflow.workreports.models import WorkReport, WorkReportReminder
from salesflow.workreports.permissions import reporting_roles
from salesflow.workreports.selectors import working_days
from salesflow.workreports.services import reminder_send

REMIND_EVERY = timedelta(minutes=30)


def remind_at() -> time:
    raw = str(getattr(settings, "SALESFLOW_WORK_REPORT_REMIND_AT", "18:00"))
    try:
        return time.fromisoformat(raw)
    except ValueError:
        return time(18, 0)


def due_reminders(now: datetime) -> list[tuple[User, str, date]]:
    """``(user, kind, period_start)`` of every report that should be reminded at ``now`` and
    was not submitted (reminded already or not: the service keeps it to once)."""
    at = remind_at()
    weekly_day = int(getattr(settings, "SALESFLOW_WEEKLY_REPORT_REMIND_DAY", 5))
    days = working_days()
    wanted: list[tuple[User, str, date]] = []
    users = list(User.objects.filter(is_active=True, role__in=reporting_roles()).order_by("pk"))
    for user in users:
        local = now.astimezone(user.zone)
        if local.time() < at:
            continue
        today = local.date()
        if today.isoweekday() in days:
            wanted.append((user, ReportKind.DAILY, today))
        if today.isoweekday() == weekly_day:
            wanted.append((user, ReportKind.WEEKLY, periods.period_of(ReportKind.WEEKLY, today)[0]))
    if not wanted:
        return []
    starts = {start for _user, _kind, start in wanted}
    ids = {user.pk for user, _kind, _start in wanted}
    submitted = set(
        WorkReport.objects.filter(author_id__in=ids, period_start__in=starts)
        .exclude(status=ReportStatus.DRAFT)
        .values_list("author_id", "kind", "period_start")
    )
    reminded = set(
        WorkReportReminder.objects.filter(user_id__in=ids, period_start__in=starts).values_list(
            "user_id", "kind", "period_start"
        )
    )
    return [
        (user, kind, start)
        for user, kind, start in wanted
        if (user.pk, kind, start) not in submitted and (user.pk, kind, start) not in reminded
    ]


@task()
def remind_missing_reports(slot: str = "") -> int:
    """Periodic job (every ``REMIND_EVERY``): remind each person whose daily or weekly report
    is missing after the reminder time; returns how many reminders were sent. It works as of
    its slot's time, so a rerun of the same slot sends nothing new."""
    now = timezone.now()
    if slot.isdigit():
        now = datetime.fromtimestamp(int(slot) * REMIND_EVERY.total_seconds(), tz=UTC)
    sent = 0
    for user, kind, start in due_reminders(now):
        sent += reminder_send(user=user, kind=kind, period_start=start) is not None
    return sent
