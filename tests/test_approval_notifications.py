"""Issue 9 (approvals): notifications on every step of an approval request
(``salesflow/notifications/rules.py`` ← ``approvals.request.*``): the approvers now due are
asked, the requester is told; the link opens the request page with its buttons."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from salesflow.approvals.services import deal_request_approval
from salesflow.approvals.tests.factories import big_deal, make_rule, manager_step
from salesflow.core.models import AuditEvent
from salesflow.notifications.kinds import KINDS
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


def _submit(personas: Personas) -> int:
    make_rule(personas.admin, [manager_step()])
    request_id = deal_request_approval(actor=personas.rep, opportunity_id=big_deal(personas.rep).pk).request_id
    assert request_id is not None
    return request_id


def test_notifications_on_every_step(personas: Personas, client_for: Callable[..., Client]) -> None:
    from salesflow.notifications.rules import RULES, approval_request

    def planned(verb: str) -> list[tuple[str, str, str]]:
        event = AuditEvent.objects.filter(verb=verb).latest("id")
        assert RULES[verb] is approval_request
        return [(p.recipient.username, p.kind, p.url) for p in approval_request(event)]

    assert {"approvals.request.pending", "approvals.request.decided", "approvals.request.reminder"} <= set(KINDS)
    request_id = _submit(personas)
    url = f"/approvals/{request_id}/"
    assert planned("approvals.request.submitted") == [("manager", "approvals.request.pending", url)]
    client_for(personas.manager).post(f"/approvals/{request_id}/return/", {"comment": "补充", "to_step": 0})
    assert planned("approvals.request.returned") == [("rep", "approvals.request.decided", url)]
    event = AuditEvent.objects.get(verb="approvals.request.returned")
    assert "补充" in approval_request(event)[0].summary()
    client_for(personas.rep).post(f"/approvals/{request_id}/resubmit/", {})
    assert planned("approvals.request.resubmitted") == [("manager", "approvals.request.pending", url)]
    client_for(personas.manager).post(f"/approvals/{request_id}/approve/", {})
    assert planned("approvals.request.approved") == [("rep", "approvals.request.decided", url)]
    page = client_for(personas.rep).get(url).content.decode()
    assert page.count('data-testid="history-row"') == 4


def test_reminder_and_escalation_notify(personas: Personas) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from salesflow.approvals.services import reminders_run
    from salesflow.notifications.rules import approval_request

    make_rule(personas.admin, [manager_step()], remind_after_hours=2, escalate_after_hours=8)
    deal_request_approval(actor=personas.rep, opportunity_id=big_deal(personas.rep).pk)
    reminders_run(now=timezone.now() + timedelta(hours=9))
    reminded = AuditEvent.objects.get(verb="approvals.request.reminded")
    assert [(p.recipient.username, p.kind) for p in approval_request(reminded)] == [
        ("manager", "approvals.request.reminder")
    ]
    escalated = AuditEvent.objects.get(verb="approvals.request.escalated")
    planned = approval_request(escalated)
    assert [(p.recipient.username, p.kind) for p in planned] == [("admin", "approvals.request.pending")]
    assert "escalated to you" in planned[0].summary()
