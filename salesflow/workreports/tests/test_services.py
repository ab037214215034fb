"""The report's life: draft → submitted (facts frozen) → commented; refusals change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.users.services import system_actor
from salesflow.users.testing import Personas
from salesflow.workreports.models import WorkReport, WorkReportComment
from salesflow.workreports.permissions import manager_of
from salesflow.workreports.selectors import facts_of
from salesflow.workreports.services import (
    TEXT_MAX_LENGTH,
    report_comment,
    report_get_or_create_draft,
    report_submit,
    report_update,
)
from salesflow.workreports.tests.factories import done_activity

pytestmark = pytest.mark.django_db


def _verbs(report: WorkReport) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_id=report.pk, verb__startswith="workreports.")
        .order_by("pk")
        .values_list("verb", flat=True)
    )


def test_the_whole_life_of_a_daily_report(personas: Personas) -> None:
    rep, manager = personas.rep, personas.manager
    today = timezone.localdate()
    done_activity(rep, timezone.now() - timedelta(minutes=5), "visit")

    report, created = report_get_or_create_draft(actor=rep, kind="daily", day=today)
    assert created and report.status == "draft" and report.period_start == report.period_end == today
    assert report.time_zone == "Asia/Shanghai" and report.facts == {}
    again, created = report_get_or_create_draft(actor=rep, kind="daily", day=today)
    assert again.pk == report.pk and not created
    assert facts_of(report)["counts"]["activities"] == 1  # live while a draft

    report_update(actor=rep, report=report, summary="拜访了星云", plans="明天报价")
    report_update(actor=rep, report=report, summary="拜访了星云")  # nothing changes: no event
    report_submit(actor=rep, report=report)
    report.refresh_from_db()
    assert report.status == "submitted" and report.submitted_at is not None
    assert report.manager == manager  # 华东一组 has no manager: the department's
    assert report.facts["counts"]["activities"] == 1

    # the snapshot is frozen: later work does not change the submitted report
    done_activity(rep, timezone.now() - timedelta(minutes=1), "call")
    report.refresh_from_db()
    assert facts_of(report)["counts"]["activities"] == 1

    with pytest.raises(Conflict):
        report_submit(actor=rep, report=report)
    with pytest.raises(Conflict):
        report_update(actor=rep, report=report, plans="改一下")
    report.refresh_from_db()
    assert report.plans == "明天报价"

    first = report_comment(actor=manager, report=report, body="客户预算确认了吗？")
    second = report_comment(actor=personas.admin, report=report, body="注意回款")
    report.refresh_from_db()
    assert report.status == "commented" and report.last_commented_at == second.created_at
    assert [c.pk for c in report.comments.all()] == [first.pk, second.pk]
    assert _verbs(report) == [
        "workreports.report.created",
        "workreports.report.updated",
        "workreports.report.submitted",
        "workreports.report.commented",
        "workreports.report.commented",
    ]
    submitted = AuditEvent.objects.get(verb="workreports.report.submitted")
    assert submitted.data == {
        "author": rep.pk,
        "kind": "daily",
        "period_start": today.isoformat(),
        "manager": manager.pk,
    }


def test_weekly_report_covers_the_iso_week(personas: Personas) -> None:
    today = timezone.localdate()
    report, _created = report_get_or_create_draft(actor=personas.rep, kind="weekly", day=today)
    assert report.period_start.weekday() == 0 and report.period_end == report.period_start + timedelta(days=6)
    assert report.period_start <= today <= report.period_end


@pytest.mark.parametrize(
    ("kind", "offset", "field"),
    [("monthly", 0, "kind"), ("daily", 1, "date"), ("weekly", 7, "date"), ("daily", -365 * 40, "date")],
    ids=["unknown-kind", "tomorrow", "next-week", "before-2000"],
)
def test_opening_a_draft_refuses_bad_input(personas: Personas, kind: str, offset: int, field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        report_get_or_create_draft(actor=personas.rep, kind=kind, day=timezone.localdate() + timedelta(days=offset))
    assert field in exc.value.field_errors
    assert not WorkReport.objects.exists()


def test_the_system_actor_writes_no_report(personas: Personas) -> None:
    with pytest.raises(Forbidden):
        report_get_or_create_draft(actor=system_actor(), kind="daily", day=timezone.localdate())


def test_text_is_validated_and_nothing_is_written(personas: Personas) -> None:
    report, _created = report_get_or_create_draft(actor=personas.rep, kind="daily", day=timezone.localdate())
    for changes, field in (
        ({"summary": "a\x00b"}, "summary"),
        ({"plans": "x" * (TEXT_MAX_LENGTH + 1)}, "plans"),
        ({"problems": 5}, "problems"),
        ({"facts": {}}, "facts"),
        ({"status": "submitted"}, "status"),
    ):
        with pytest.raises(ValidationFailed) as exc:
            report_update(actor=personas.rep, report=report, **changes)  # type: ignore[arg-type]
        assert field in exc.value.field_errors
    report.refresh_from_db()
    assert (report.summary, report.plans, report.problems, report.status) == ("", "", "", "draft")
    assert _verbs(report) == ["workreports.report.created"]


def test_submitting_needs_plans(personas: Personas) -> None:
    report, _created = report_get_or_create_draft(actor=personas.rep, kind="daily", day=timezone.localdate())
    report_update(actor=personas.rep, report=report, summary="只有总结", plans="   ")
    with pytest.raises(ValidationFailed) as exc:
        report_submit(actor=personas.rep, report=report)
    assert list(exc.value.field_errors) == ["plans"]
    report.refresh_from_db()
    assert report.status == "draft" and report.facts == {}


@pytest.mark.parametrize("who", ["manager", "admin", "teammate", "assistant", "support", "other_manager", "outsider"])
def test_only_the_author_writes_and_submits(personas: Personas, who: str) -> None:
    report, _created = report_get_or_create_draft(actor=personas.rep, kind="daily", day=timezone.localdate())
    report_update(actor=personas.rep, report=report, plans="计划")
    actor = personas.all()[who]
    with pytest.raises(Forbidden):
        report_update(actor=actor, report=report, summary="代写")
    with pytest.raises(Forbidden):
        report_submit(actor=actor, report=report)
    report.refresh_from_db()
    assert report.status == "draft" and report.summary == ""


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("manager", True),
        ("admin", True),
        ("rep", False),
        ("teammate", False),
        ("assistant", False),
        ("support", False),
        ("other_manager", False),
        ("outsider", False),
    ],
)
def test_who_may_comment(personas: Personas, who: str, allowed: bool) -> None:
    report, _created = report_get_or_create_draft(actor=personas.rep, kind="daily", day=timezone.localdate())
    report_update(actor=personas.rep, report=report, plans="计划")
    report_submit(actor=personas.rep, report=report)
    actor = personas.all()[who]
    if allowed:
        report_comment(actor=actor, report=report, body="好的")
        assert WorkReportComment.objects.filter(report=report, author=actor).count() == 1
    else:
        with pytest.raises(Forbidden):
            report_comment(actor=actor, report=report, body="好的")
        assert not WorkReportComment.objects.exists()


def test_comments_need_a_submitted_report_and_text(personas: Personas) -> None:
    report, _created = report_get_or_create_draft(actor=personas.rep, kind="daily", day=timezone.localdate())
    with pytest.raises(Conflict):
        report_comment(actor=personas.manager, report=report, body="还没交")
    report_update(actor=personas.rep, report=report, plans="计划")
    report_submit(actor=personas.rep, report=report)
    for body in ("", "   ", "a\x00b", "x" * (TEXT_MAX_LENGTH + 1)):
        with pytest.raises(ValidationFailed) as exc:
            report_comment(actor=personas.manager, report=report, body=body)
        assert list(exc.value.field_errors) == ["body"]
    assert not WorkReportComment.objects.exists()
    report.refresh_from_db()
    assert report.status == "submitted"


def test_manager_of_walks_up_the_team_chain(personas: Personas) -> None:
    assert manager_of(personas.rep) == personas.manager
    assert manager_of(personas.outsider) == personas.other_manager
    assert manager_of(personas.manager) is None  # manages the top team himself
    assert manager_of(personas.admin) is None
    personas.team_a.manager = personas.teammate
    personas.team_a.save()
    assert manager_of(personas.rep) == personas.teammate
    assert manager_of(personas.teammate) == personas.manager  # not himself: the next one up
