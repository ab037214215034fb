"""Issue 11 (improvement): when the daily control check finds a DMAIC project's metric out of
control, the project's owner gets a notification (the notifications app sits above improvement,
so this cross-app check lives here)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from salesflow.core.models import AuditEvent
from salesflow.improvement.models import Phase
from salesflow.improvement.services import action_create, project_advance, project_create
from salesflow.improvement.tasks import check_all
from salesflow.improvement.tests.helpers import write_exits
from salesflow.improvement.tests.test_services import _data, _history
from salesflow.notifications.models import Notification
from salesflow.notifications.tasks import notify_for_event
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


def test_the_owner_is_told_once_when_the_control_plan_finds_drift(personas: Personas) -> None:
    today = timezone.localdate()
    _history(personas, today)
    manager = personas.manager
    project = project_create(actor=manager, today=today, **_data(personas, today))
    for phase in (Phase.MEASURE, Phase.ANALYSE, Phase.IMPROVE):
        project = project_advance(actor=manager, project=project, to_phase=phase, today=today)
    change = today - dt.timedelta(days=100)
    action_create(
        actor=manager,
        project=project,
        today=today,
        description="材料清单前置",
        owner_id=personas.rep.pk,
        due_on=change,
        done_on=change,
    )
    project_advance(
        actor=manager,
        project=project,
        to_phase=Phase.CONTROL,
        limits_through=today - dt.timedelta(days=45),
        today=today,
    )
    slow_day = today - dt.timedelta(days=10)
    write_exits(personas.rep, [(slow_day, 12.0)])
    assert check_all(today) == {project.pk: 1}

    event = AuditEvent.objects.get(verb="improvement.project.drifted")
    notify_for_event.call(event.pk)  # what the subscribed task does after the commit
    notice = Notification.objects.get(kind="improvement.project.drifted")
    assert notice.recipient == manager
    assert notice.url == f"/improvement/{project.pk}/"
    assert notice.summary["en"] == f"“缩短资格确认时长”: 1 new out-of-control point, the last on {slow_day.isoformat()}"
    assert notice.summary["zh-hans"] == f"“缩短资格确认时长”：新增 1 个失控点，最近一次在 {slow_day.isoformat()}"
    assert check_all(today + dt.timedelta(days=1)) == {project.pk: 0}
    assert Notification.objects.filter(kind="improvement.project.drifted").count() == 1
