"""The demo's worked improvement project on a small North team: a year of personal-loan
history, the project in control with its baseline, two actions, significant tests and the
drift recorded; idempotent and deletable."""

from __future__ import annotations

import pytest
from django.utils import timezone

from salesflow.core.models import AuditEvent
from salesflow.demo.issue11_improvement import MARKER, PROJECT_TITLE, delete_improvement, write_improvement
from salesflow.improvement.models import Phase, Project
from salesflow.improvement.selectors import project_report
from salesflow.parties.models import Account
from salesflow.sales.models import Opportunity, Pipeline
from salesflow.users.choices import Role
from salesflow.users.models import Team, User


@pytest.mark.django_db
def test_worked_project_is_written_once_and_deleted() -> None:
    Pipeline.objects.filter(code="personal-loan").update(is_active=True)
    department = Team.objects.create(name="销售部")
    north = Team.objects.create(name="华北一组", parent=department)
    manager = User.objects.create(username="wang", role=Role.MANAGER, team=department, display_name="王经理")
    department.manager = manager
    department.save()
    reps = [
        User.objects.create(username=name, role=Role.REP, team=north, display_name=display)
        for name, display in (("liuyang", "刘洋"), ("chenjing", "陈静"))
    ]
    for rep in reps:
        for i in range(3):
            Account.objects.create(owner=rep, name=f"{rep.display_name}的客户{i}")
    users = {u.username: u for u in [manager, *reps]}
    today = timezone.localdate()

    assert write_improvement(users, today) == {"loan deals": 200, "improvement projects": 1}
    project = Project.objects.get(title=PROJECT_TITLE)
    assert project.phase == Phase.CONTROL
    assert project.baseline_n is not None and project.baseline_n > 100
    assert project.baseline_p50 is not None and 5.0 < project.baseline_p50 < 7.0
    report = project_report(project, today)
    assert len(report.changes) == 2
    assert all(c.test.significant and c.after.p50 is not None and c.after.p50 < 3.5 for c in report.changes)
    assert project.control_ucl is not None and project.control_centre is not None
    assert report.control is not None and any(1 in d.rules for d in report.control.drifts)
    assert AuditEvent.objects.filter(verb="improvement.project.drifted", target_id=project.pk).count() == 1

    assert write_improvement(users, today) == {"loan deals": 0, "improvement projects": 0}
    assert Opportunity.objects.filter(description__contains=MARKER).count() == 200

    assert delete_improvement() == {"improvement projects": 1, "loan deals": 200}
    assert not Project.objects.exists()
    assert not Opportunity.objects.filter(description__contains=MARKER).exists()
