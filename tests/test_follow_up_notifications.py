"""Issue 7: who is notified when the follow-up ladder escalates or a neglected account is
reassigned (``salesflow/notifications/rules.py``)."""

from __future__ import annotations

from datetime import date

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
    follow_up_escalate(today=date(2026, 3, 20))
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
