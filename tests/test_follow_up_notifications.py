"""Issue 7: who is notified when the follow-up ladder escalates or a neglected account is
reassigned (``salesflow/notifications/rules.py``)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from salesflow.activities.services import follow_up_escalate
from salesflow.activities.tests.factories import make_account
from salesflow.core.models import AuditEvent
from salesflow.notifications.rules import RULES, follow_up_escalated, reassigned_for_neglect
from salesflow.parties.models import Account
from salesflow.parties.services import account_reassign_for_neglect, account_update

pytestmark = pytest.mark.django_db


def test_rules_are_registered() -> None:
    assert RULES["activities.follow_up.escalated"] is follow_up_escalated
    assert RULES["parties.account.reassigned_for_neglect"] is reassigned_for_neglect


def test_escalation_notifies_owner_then_manager(personas) -> None:  # type: ignore[no-untyped-def]
    account = account_update(actor=personas.rep, account=make_account(personas.rep), grade="A")
    Account.objects.filter(pk=account.pk).update(next_follow_up_due=date(2026, 3, 1))
    for day in (4, 7, 11):  # the job on the days each step is reached (A: grace 2; +0, +3, +7)
        assert follow_up_escalate(today=date(2026, 3, day)) == 1
    by_action = {
        e.data["action"]: e
        for e in AuditEvent.objects.filter(verb="activities.follow_up.escalated", target_id=account.pk)
    }
    assert [p.recipient for p in follow_up_escalated(by_action["remind_owner"])] == [personas.rep]
    assert [p.recipient for p in follow_up_escalated(by_action["notify_manager"])] == [personas.manager]
    assert {p.recipient for p in follow_up_escalated(by_action["mark_at_risk"])} == {personas.rep, personas.manager}


def test_reassigned_for_neglect_tells_both_owners(personas) -> None:  # type: ignore[no-untyped-def]
    account = make_account(personas.rep)
    account_reassign_for_neglect(actor=personas.manager, account=account, owner=personas.teammate, reason="三周未拜访")
    event = AuditEvent.objects.get(verb="parties.account.reassigned_for_neglect")
    planned = reassigned_for_neglect(event)
    assert {p.recipient for p in planned} == {personas.rep, personas.teammate}
    assert all("三周未拜访" in p.summary() for p in planned)


def test_first_run_on_a_backlog_sends_one_digest_per_person(
    personas, django_capture_on_commit_callbacks, settings
) -> None:  # type: ignore[no-untyped-def]
    """Five of the rep's accounts first seen far past the ladder: each gets only "at risk"
    (the two earlier steps skipped); the rep and the manager get ONE digest each instead of
    five notifications; the teammate's single reminder comes on its own. Twice is once."""
    from salesflow.activities.models import FollowUpEscalation
    from salesflow.core.testing import run_worker
    from salesflow.notifications.kinds import FOLLOW_UP_ESCALATED, FOLLOW_UP_REMINDER
    from salesflow.notifications.models import Notification

    settings.SALESFLOW_ESCALATION_DIGEST_OVER = 3
    today = date(2026, 3, 20)
    backlog = []
    for i in range(5):
        account = account_update(actor=personas.rep, account=make_account(personas.rep, f"积压客户{i}"), grade="A")
        Account.objects.filter(pk=account.pk).update(next_follow_up_due=today - timedelta(days=12))  # 10 over
        backlog.append(account)
    theirs = account_update(actor=personas.teammate, account=make_account(personas.teammate, "李娜的客户"), grade="A")
    Account.objects.filter(pk=theirs.pk).update(next_follow_up_due=today - timedelta(days=3))  # 1 over: remind
    with django_capture_on_commit_callbacks(execute=True):
        assert follow_up_escalate(today=today) == 6
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    assert FollowUpEscalation.objects.count() == 16  # 5 × 3 + 1
    assert FollowUpEscalation.objects.filter(skipped=True).count() == 10
    assert FollowUpEscalation.objects.filter(digest=True).count() == 5
    escalated = AuditEvent.objects.filter(verb="activities.follow_up.escalated")
    assert escalated.count() == 6
    assert all(
        e.data["digest_for"] == sorted([personas.rep.pk, personas.manager.pk])
        for e in escalated.filter(target_id__in=[a.pk for a in backlog])
    )
    digests = {e.data["recipient"]: e.data for e in AuditEvent.objects.filter(verb="activities.follow_up.digest")}
    assert digests == {
        personas.rep.pk: {
            "recipient": personas.rep.pk,
            "as_manager": False,
            "count": 5,
            "accounts": [a.pk for a in backlog],
            "opportunities": [],
        },
        personas.manager.pk: {
            "recipient": personas.manager.pk,
            "as_manager": True,
            "count": 5,
            "accounts": [a.pk for a in backlog],
            "opportunities": [],
        },
    }
    assert Account.objects.filter(pk__in=[a.pk for a in backlog], at_risk_since__isnull=False).count() == 5
    rep_note = Notification.objects.get(recipient=personas.rep)
    assert (rep_note.kind, rep_note.url) == (
        FOLLOW_UP_REMINDER,
        f"/accounts/?follow_up=overdue&owner={personas.rep.pk}",
    )
    assert rep_note.summary["en"].startswith("5 of your customers are overdue for follow-up: “积压客户0”, ")
    assert rep_note.summary["zh-hans"].startswith("你有 5 个客户跟进已逾期：“积压客户0”，")
    manager_note = Notification.objects.get(recipient=personas.manager)
    assert (manager_note.kind, manager_note.url) == (FOLLOW_UP_ESCALATED, "/accounts/?follow_up=overdue")
    teammate_note = Notification.objects.get(recipient=personas.teammate)
    assert (teammate_note.kind, teammate_note.target_id) == (FOLLOW_UP_REMINDER, theirs.pk)
    assert Notification.objects.count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert follow_up_escalate(today=today) == 0
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    assert (Notification.objects.count(), FollowUpEscalation.objects.count()) == (3, 16)
