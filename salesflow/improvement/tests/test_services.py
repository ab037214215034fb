"""Projects through the services with the personas: who may do what, the baseline measured
from history, the tests after each change, the control plan and the daily drift check."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.http import Http404
from django.utils import timezone
from scipy import stats as sps

from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.improvement.models import Phase, Project
from salesflow.improvement.selectors import project_for_user, project_list, project_report
from salesflow.improvement.services import (
    action_create,
    action_update,
    project_advance,
    project_control_check,
    project_create,
    project_update,
)
from salesflow.improvement.tasks import check_all
from salesflow.improvement.tests.helpers import write_exits
from salesflow.sales.tests.factories import stage
from salesflow.users.testing import Personas

BEFORE = [6.0, 5.5, 7.0, 6.5, 5.0, 8.0, 6.2, 5.8]
AFTER = [3.0, 2.5, 3.5, 2.8, 3.2, 2.9, 3.1, 2.7, 3.3, 3.0]


@pytest.fixture
def today() -> dt.date:
    return timezone.localdate()


def _history(p: Personas, today: dt.date) -> None:
    write_exits(p.rep, [(today - dt.timedelta(days=190 - 10 * i), v) for i, v in enumerate(BEFORE)])
    write_exits(p.teammate, [(today - dt.timedelta(days=95 - 5 * i), v) for i, v in enumerate(AFTER)])
    # outside the segment: another team's rep, never counted for team A
    write_exits(p.outsider, [(today - dt.timedelta(days=150), 40.0), (today - dt.timedelta(days=60), 40.0)])


def _data(p: Personas, today: dt.date, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "缩短资格确认时长",
        "problem": "资格确认阶段平均要等6天。",
        "metric_key": "time_in_stage",
        "stage_id": stage("qualification").pk,
        "node": f"team:{p.team_a.pk}",
        "pipeline_id": None,
        "industry": "",
        "size": "",
        "target_value": Decimal("3"),
        "baseline_start": today - dt.timedelta(days=200),
        "baseline_end": today - dt.timedelta(days=101),
        "owner_id": p.manager.pk,
    }
    data.update(extra)
    return data


def test_manager_opens_a_project_and_the_baseline_is_measured(personas: Personas, today: dt.date) -> None:
    _history(personas, today)
    project = project_create(actor=personas.manager, today=today, **_data(personas, today))
    assert project.phase == Phase.DEFINE
    assert project.baseline_n == 8
    assert project.baseline_p50 == pytest.approx(float(np.percentile(BEFORE, 50)))
    assert project.baseline_p80 == pytest.approx(float(np.percentile(BEFORE, 80)))
    assert project.baseline_mean == pytest.approx(float(np.mean(BEFORE)))
    assert project.baseline_measured_at is not None
    verbs = list(
        AuditEvent.objects.filter(target_id=project.pk, verb__startswith="improvement.")
        .order_by("pk")
        .values_list("verb", flat=True)
    )
    assert verbs == ["improvement.project.created", "improvement.project.baseline_measured"]


@pytest.mark.parametrize("who", ["rep", "assistant", "support"])
def test_only_managers_and_admins_open_projects(personas: Personas, today: dt.date, who: str) -> None:
    with pytest.raises(Forbidden):
        project_create(actor=getattr(personas, who), today=today, **_data(personas, today))
    assert not Project.objects.exists()


def test_an_unseen_node_and_bad_input_are_field_errors(personas: Personas, today: dt.date) -> None:
    with pytest.raises(ValidationFailed) as caught:
        project_create(
            actor=personas.other_manager,
            today=today,
            **_data(
                personas,
                today,
                owner_id=personas.rep.pk,
                target_value="NaN",
                stage_id=None,
                baseline_end=today + dt.timedelta(days=3),
                title="x\x00",
            ),
        )
    assert set(caught.value.field_errors) == {"node", "owner_id", "target_value", "stage_id", "baseline_end", "title"}
    with pytest.raises(ValidationFailed) as caught:
        project_create(actor=personas.manager, today=today, **_data(personas, today, colour="red"))
    assert set(caught.value.field_errors) == {"colour"}
    assert not Project.objects.exists()


def test_visibility_follows_the_node_and_the_owner(personas: Personas, today: dt.date) -> None:
    team = project_create(actor=personas.manager, today=today, **_data(personas, today))
    mine = project_create(
        actor=personas.manager, today=today, **_data(personas, today, node=f"rep:{personas.rep.pk}", title="张伟")
    )
    owned = project_create(
        actor=personas.admin,
        today=today,
        **_data(personas, today, node="company", owner_id=personas.teammate.pk, title="全公司"),
    )
    seen = {name: set(project_list(u).values_list("pk", flat=True)) for name, u in personas.all().items()}
    assert seen["admin"] == {team.pk, mine.pk, owned.pk}
    assert seen["manager"] == {team.pk, mine.pk}
    assert seen["rep"] == {mine.pk}
    assert seen["teammate"] == {owned.pk}
    assert seen["outsider"] == seen["other_manager"] == seen["support"] == set()
    with pytest.raises(Http404):
        project_for_user(personas.other_manager, team.pk)


def test_owner_and_admin_edit_others_may_not(personas: Personas, today: dt.date) -> None:
    project = project_create(
        actor=personas.manager, today=today, **_data(personas, today, node=f"rep:{personas.rep.pk}")
    )
    with pytest.raises(Forbidden):
        project_update(actor=personas.rep, project=project, title="改")
    project_update(actor=personas.admin, project=project, title="管理员改的")
    project = project_update(actor=personas.manager, project=project, target_value=Decimal("2.5"))
    project.refresh_from_db()
    assert (project.title, project.target_value) == ("管理员改的", Decimal("2.5000"))
    events = AuditEvent.objects.filter(target_id=project.pk, verb="improvement.project.updated").order_by("pk")
    assert [e.data["changes"] for e in events] == [
        {"title": ["缩短资格确认时长", "管理员改的"]},
        {"target_value": ["3.0000", "2.5000"]},
    ]
    # nothing changed: nothing written
    project_update(actor=personas.manager, project=project, target_value=Decimal("2.5"))
    assert AuditEvent.objects.filter(target_id=project.pk, verb="improvement.project.updated").count() == 2


def test_the_full_cycle_with_tests_control_limits_and_drift(personas: Personas, today: dt.date) -> None:
    _history(personas, today)
    manager = personas.manager
    project = project_create(actor=manager, today=today, **_data(personas, today))
    change = today - dt.timedelta(days=100)
    for phase in (Phase.MEASURE, Phase.ANALYSE, Phase.IMPROVE):
        project = project_advance(actor=manager, project=project, to_phase=phase, today=today)
    with pytest.raises(Conflict):  # the metric is fixed from improve on
        project_update(actor=manager, project=project, metric_key="cycle_time")
    with pytest.raises(ValidationFailed) as caught:  # no change recorded yet
        project_advance(actor=manager, project=project, to_phase=Phase.CONTROL, today=today)
    assert "phase" in caught.value.field_errors
    first = action_create(
        actor=manager,
        project=project,
        today=today,
        description="材料清单前置",
        owner_id=personas.rep.pk,
        due_on=change,
        done_on=change,
    )
    later = action_create(
        actor=manager, project=project, today=today, description="预审", owner_id=personas.teammate.pk, due_on=today
    )
    with pytest.raises(ValidationFailed) as caught:
        action_update(actor=manager, action=later, done_on=today + dt.timedelta(days=1))
    assert set(caught.value.field_errors) == {"done_on"}
    with pytest.raises(Conflict):
        project_advance(actor=manager, project=project, to_phase=Phase.CLOSED, today=today)
    project = project_advance(
        actor=manager,
        project=project,
        to_phase=Phase.CONTROL,
        limits_through=today - dt.timedelta(days=45),
        today=today,
    )
    mr = float(np.mean(np.abs(np.diff(AFTER))))
    assert project.control_n == 10
    assert project.control_centre == pytest.approx(float(np.mean(AFTER)))
    assert project.control_ucl == pytest.approx(float(np.mean(AFTER)) + 2.6595744680851063 * mr)
    assert project.control_from == change + dt.timedelta(days=1)

    report = project_report(Project.objects.get(pk=project.pk), today)
    assert [(r.action.pk, r.after.n) for r in report.changes] == [(first.pk, 10)]
    result = report.changes[0].test
    assert result.method == "mann_whitney"
    assert (result.n_a, result.n_b) == (8, 10)
    assert result.p_value == pytest.approx(float(sps.mannwhitneyu(AFTER, BEFORE, alternative="two-sided").pvalue))
    assert result.significant
    assert report.control is not None and report.control.drifts == []

    # a slow case ten days ago: the daily check records drift for the owner, once
    write_exits(personas.rep, [(today - dt.timedelta(days=10), 12.0)])
    assert check_all(today) == {project.pk: 1}
    event = AuditEvent.objects.get(verb="improvement.project.drifted")
    assert event.data["owner"] == manager.pk
    assert event.data["signals"] == [{"day": (today - dt.timedelta(days=10)).isoformat(), "value": 12.0, "rules": [1]}]
    assert project_control_check(project=project, today=today) == []
    assert check_all(today + dt.timedelta(days=1)) == {project.pk: 0}
    assert AuditEvent.objects.filter(verb="improvement.project.drifted").count() == 1
    project.refresh_from_db()
    assert project.control_last_drift_on == today - dt.timedelta(days=10)


def test_a_change_without_effect_is_labelled_not_significant(personas: Personas, today: dt.date) -> None:
    write_exits(personas.rep, [(today - dt.timedelta(days=90 - 5 * i), v) for i, v in enumerate([3.0, 3.2, 2.9, 3.1])])
    write_exits(personas.rep, [(today - dt.timedelta(days=40 - 5 * i), v) for i, v in enumerate([3.05, 3.15, 2.95])])
    project = project_create(
        actor=personas.manager,
        today=today,
        **_data(
            personas, today, baseline_start=today - dt.timedelta(days=100), baseline_end=today - dt.timedelta(days=60)
        ),
    )
    action_create(
        actor=personas.manager,
        project=project,
        today=today,
        description="培训",
        owner_id=personas.rep.pk,
        done_on=today - dt.timedelta(days=50),
    )
    report = project_report(Project.objects.get(pk=project.pk), today)
    result = report.changes[0].test
    assert (result.n_a, result.n_b) == (4, 3)
    assert result.p_value == pytest.approx(
        float(sps.mannwhitneyu([3.05, 3.15, 2.95], [3.0, 3.2, 2.9, 3.1], alternative="two-sided").pvalue)
    )
    assert not result.significant
