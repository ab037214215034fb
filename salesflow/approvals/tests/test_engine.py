"""The engine: rule matching, route resolution, every action with its permissions, return
and resubmit, withdraw, delegation, reminders and escalation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from salesflow.approvals.choices import ActionKind, RequestStatus, StepStatus
from salesflow.approvals.models import ApprovalAction, ApprovalRequest, Delegation, RequestStep, StepApprover
from salesflow.approvals.selectors import decided_by, pending_for, resolve_approvers
from salesflow.approvals.services import (
    deal_request_approval,
    reminders_run,
    request_approve,
    request_reject,
    request_resubmit,
    request_return,
    request_withdraw,
)
from salesflow.approvals.tests.factories import big_deal, make_rule, manager_step, users_step
from salesflow.core.approvals import pending_request_id
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.users.choices import Role
from salesflow.users.models import Team, User
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db

LARGE = [{"fact": "amount", "operator": "gt", "value": "500000"}]


def _verbs(request: ApprovalRequest) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_id=request.pk, verb__startswith="approvals.request.")
        .order_by("id")
        .values_list("verb", flat=True)
    )


def test_no_matching_rule_is_approved_at_once_and_audited(personas: Personas) -> None:
    make_rule(personas.admin, [manager_step()], conditions=LARGE)
    deal = big_deal(personas.rep, amount="1000")
    submission = deal_request_approval(actor=personas.rep, opportunity_id=deal.pk)
    assert submission.status == "approved" and submission.request_id is None
    assert not ApprovalRequest.objects.exists()
    event = AuditEvent.objects.get(verb="approvals.request.auto_approved")
    assert event.target_id == deal.pk and event.data["facts"]["amount"] == "1000.00"


def test_first_matching_rule_by_priority_routes(personas: Personas) -> None:
    make_rule(personas.admin, [users_step([personas.admin])], conditions=LARGE, name="second", priority=20)
    make_rule(personas.admin, [manager_step()], conditions=LARGE, name="first", priority=5)
    deal = big_deal(personas.rep)
    submission = deal_request_approval(actor=personas.rep, opportunity_id=deal.pk)
    assert submission.status == "pending" and submission.steps == ("经理审批",)
    request = ApprovalRequest.objects.get()
    assert request.rule_name == "first" and request.current_step == 1
    assert [a.user for a in StepApprover.objects.all()] == [personas.manager]
    assert pending_request_id("sales.opportunity", deal) == request.pk
    with pytest.raises(Conflict):
        deal_request_approval(actor=personas.rep, opportunity_id=deal.pk)


def test_request_needs_write_access_to_the_deal(personas: Personas) -> None:
    from django.http import Http404

    make_rule(personas.admin, [manager_step()])
    deal = big_deal(personas.rep)
    with pytest.raises(Http404):
        deal_request_approval(actor=personas.outsider, opportunity_id=deal.pk)
    with pytest.raises(Forbidden):
        deal_request_approval(actor=personas.support, opportunity_id=deal.pk)
    assert not ApprovalRequest.objects.exists()


def test_manager_chain_levels_role_and_fallback(personas: Personas) -> None:
    company = Team.objects.create(name="公司")
    ceo = User.objects.create(username="ceo", role=Role.MANAGER, team=company, display_name="总经理")
    company.manager = ceo
    company.save()
    personas.department.parent = company
    personas.department.save()
    rep = User.objects.get(pk=personas.rep.pk)

    def resolve(**kw: object) -> tuple[list[str], bool]:
        args = {"approver_type": "manager_chain", "user_ids": [], "levels": 1, "role": ""} | kw
        found = resolve_approvers(requester=rep, **args)  # type: ignore[arg-type]
        return [u.username for u in found.users], found.fallback

    assert resolve(levels=1) == (["manager"], False)
    assert resolve(levels=2) == (["manager", "ceo"], False)
    assert resolve(levels=5) == (["manager", "ceo"], False)
    assert resolve(approver_type="role", role="manager") == (["manager", "other_manager", "ceo"], False)
    assert resolve(approver_type="team_role", role="manager") == (["manager", "ceo"], False)
    assert resolve(approver_type="users", user_ids=[rep.pk]) == (["admin"], True)  # never oneself
    outsider = User.objects.get(pk=personas.other_manager.pk)
    found = resolve_approvers(approver_type="manager_chain", user_ids=[], levels=1, role="", requester=outsider)
    assert [u.username for u in found.users] == ["admin"] and found.fallback


def test_two_steps_any_then_all(personas: Personas) -> None:
    make_rule(personas.admin, [manager_step(), users_step([personas.admin, personas.other_manager], mode="all")])
    deal = big_deal(personas.rep)
    request_id = deal_request_approval(actor=personas.rep, opportunity_id=deal.pk).request_id
    assert request_id is not None
    with pytest.raises(Forbidden):
        request_approve(actor=personas.admin, request_id=request_id)  # not yet their step
    request_approve(actor=personas.manager, request_id=request_id, comment="同意")
    request = ApprovalRequest.objects.get()
    assert request.current_step == 2 and request.status == RequestStatus.PENDING
    request_approve(actor=personas.admin, request_id=request_id)
    assert ApprovalRequest.objects.get().status == RequestStatus.PENDING  # all-of waits
    with pytest.raises(Conflict):
        request_approve(actor=personas.admin, request_id=request_id)  # already decided
    with pytest.raises(Conflict):
        request_approve(actor=personas.manager, request_id=request_id)  # involved, step moved on
    request_approve(actor=personas.other_manager, request_id=request_id)
    request = ApprovalRequest.objects.get()
    assert request.status == RequestStatus.APPROVED and request.decided_at is not None
    assert _verbs(request) == [
        "approvals.request.submitted",
        "approvals.request.step_approved",
        "approvals.request.step_approved",
        "approvals.request.approved",
    ]
    assert list(request.actions.values_list("action", flat=True)) == ["submitted", "approved", "approved", "approved"]


def test_reject_needs_comment_and_only_current_approvers(personas: Personas) -> None:
    make_rule(personas.admin, [manager_step()])
    deal = big_deal(personas.rep)
    request_id = deal_request_approval(actor=personas.rep, opportunity_id=deal.pk).request_id
    assert request_id is not None
    with pytest.raises(ValidationFailed) as exc:
        request_reject(actor=personas.manager, request_id=request_id, comment="  ")
    assert "comment" in exc.value.field_errors
    for who in ("rep", "teammate", "assistant", "support", "outsider", "other_manager"):
        with pytest.raises((Forbidden, Conflict)):
            request_reject(actor=getattr(personas, who), request_id=request_id, comment="no")
    assert ApprovalRequest.objects.get().status == RequestStatus.PENDING
    request_reject(actor=personas.manager, request_id=request_id, comment="价格太低")
    request = ApprovalRequest.objects.get()
    assert request.status == RequestStatus.REJECTED
    assert RequestStep.objects.get().status == StepStatus.REJECTED
    event = AuditEvent.objects.get(verb="approvals.request.rejected")
    assert event.data["inform"] == [personas.rep.pk] and event.data["comment"] == "价格太低"


def test_return_to_requester_then_resubmit_and_approve(personas: Personas) -> None:
    make_rule(personas.admin, [manager_step(), users_step([personas.admin], name="管理员审批")])
    deal = big_deal(personas.rep)
    request_id = deal_request_approval(actor=personas.rep, opportunity_id=deal.pk).request_id
    assert request_id is not None
    request_approve(actor=personas.manager, request_id=request_id)
    with pytest.raises(ValidationFailed):
        request_return(actor=personas.admin, request_id=request_id, to_step=2, comment="x")  # not earlier
    request_return(actor=personas.admin, request_id=request_id, to_step=1, comment="请经理再确认")
    request = ApprovalRequest.objects.get()
    assert request.current_step == 1 and request.status == RequestStatus.PENDING
    assert list(RequestStep.objects.order_by("position").values_list("status", flat=True)) == ["pending", "waiting"]
    assert list(pending_for(personas.manager)) == [request]
    request_return(actor=personas.manager, request_id=request_id, to_step=0, comment="请补充客户预算")
    request = ApprovalRequest.objects.get()
    assert request.current_step == 0 and request.status == RequestStatus.PENDING
    assert pending_request_id("sales.opportunity", deal) == request_id  # still locked
    with pytest.raises(Forbidden):
        request_resubmit(actor=personas.manager, request_id=request_id)
    with pytest.raises(Conflict):
        request_approve(actor=personas.manager, request_id=request_id)
    request_resubmit(actor=personas.rep, request_id=request_id, comment="已补充")
    request_approve(actor=personas.manager, request_id=request_id)
    request_approve(actor=personas.admin, request_id=request_id)
    assert ApprovalRequest.objects.get().status == RequestStatus.APPROVED
    returned = ApprovalAction.objects.filter(action=ActionKind.RETURNED).order_by("id")
    assert [(a.to_step, a.comment) for a in returned] == [(1, "请经理再确认"), (0, "请补充客户预算")]
    assert list(decided_by(personas.manager)) == [ApprovalRequest.objects.get()]


def test_withdraw_only_by_requester_and_once(personas: Personas) -> None:
    make_rule(personas.admin, [manager_step()])
    deal = big_deal(personas.rep)
    request_id = deal_request_approval(actor=personas.rep, opportunity_id=deal.pk).request_id
    assert request_id is not None
    with pytest.raises(Forbidden):
        request_withdraw(actor=personas.manager, request_id=request_id)
    request_withdraw(actor=personas.rep, request_id=request_id)
    assert ApprovalRequest.objects.get().status == RequestStatus.WITHDRAWN
    with pytest.raises(Conflict):
        request_withdraw(actor=personas.rep, request_id=request_id)
    event = AuditEvent.objects.get(verb="approvals.request.withdrawn")
    assert event.data["inform"] == [personas.manager.pk]
    assert pending_request_id("sales.opportunity", deal) is None
    # a new request may follow
    assert deal_request_approval(actor=personas.rep, opportunity_id=deal.pk).status == "pending"


def test_delegate_acts_on_behalf_while_away(personas: Personas) -> None:
    make_rule(personas.admin, [manager_step()])
    deal = big_deal(personas.rep)
    request_id = deal_request_approval(actor=personas.rep, opportunity_id=deal.pk).request_id
    assert request_id is not None
    today = timezone.localdate()
    Delegation.objects.create(
        user=personas.manager,
        delegate=personas.other_manager,
        starts_on=today - timedelta(days=5),
        ends_on=today - timedelta(days=1),
    )
    with pytest.raises(Forbidden):
        request_approve(actor=personas.other_manager, request_id=request_id)  # expired
    Delegation.objects.create(
        user=personas.manager, delegate=personas.teammate, starts_on=today, ends_on=today + timedelta(days=3)
    )
    teammate = User.objects.get(pk=personas.teammate.pk)
    assert [r.pk for r in pending_for(teammate)] == [request_id]
    request_approve(actor=teammate, request_id=request_id, comment="代批")
    action = ApprovalAction.objects.get(action=ActionKind.APPROVED)
    assert action.actor == personas.teammate and action.on_behalf_of == personas.manager
    assert AuditEvent.objects.get(verb="approvals.request.approved").data["on_behalf_of"] == personas.manager.pk


def test_reminders_and_escalation_are_idempotent(personas: Personas) -> None:
    make_rule(personas.admin, [manager_step()], remind_after_hours=4, escalate_after_hours=24)
    deal = big_deal(personas.rep)
    request_id = deal_request_approval(actor=personas.rep, opportunity_id=deal.pk).request_id
    now = timezone.now()
    assert reminders_run(now=now + timedelta(hours=3)) == (0, 0)
    first = reminders_run(now=now + timedelta(hours=5))
    assert (first.reminded, first.escalated) == (1, 0)
    assert reminders_run(now=now + timedelta(hours=6)) == (0, 0)
    second = reminders_run(now=now + timedelta(hours=25))
    assert (second.reminded, second.escalated) == (0, 1)
    assert reminders_run(now=now + timedelta(hours=50)) == (0, 0)
    # the manager has no manager above: escalation goes to the administrators
    rows = list(StepApprover.objects.order_by("id").values_list("user__username", "escalated_from__user__username"))
    assert rows == [("manager", None), ("admin", "manager")]
    assert AuditEvent.objects.filter(verb="approvals.request.reminded").count() == 1
    assert AuditEvent.objects.get(verb="approvals.request.escalated").data["pending_for"] == [personas.admin.pk]
    # the escalated approver decides for the one they stand in for
    assert request_id is not None
    request_approve(actor=personas.admin, request_id=request_id)
    assert ApprovalRequest.objects.get().status == RequestStatus.APPROVED


def test_gate_criterion_large_deal_approved(personas: Personas) -> None:
    from salesflow.sales.gates import criterion_type
    from salesflow.sales.models import StageCriterion

    make_rule(personas.admin, [manager_step()], conditions=LARGE)
    deal = big_deal(personas.rep)
    small = big_deal(personas.rep, amount="100")
    ctype = criterion_type("large_deal_approved")
    assert ctype is not None and ctype.load is not None
    criterion = StageCriterion(kind="large_deal_approved", params={})
    assert ctype.load([deal.pk, small.pk], [criterion]) == set()
    deal_request_approval(actor=personas.rep, opportunity_id=small.pk)
    request_id = deal_request_approval(actor=personas.rep, opportunity_id=deal.pk).request_id
    assert ctype.load([deal.pk, small.pk], [criterion]) == {small.pk}
    assert request_id is not None
    request_approve(actor=personas.manager, request_id=request_id)
    loaded = ctype.load([deal.pk, small.pk], [criterion])
    assert loaded == {small.pk, deal.pk}
    assert ctype.check(deal, criterion, loaded) is None
    assert Decimal(ApprovalRequest.objects.get().facts["amount"]) == Decimal("800000")


def test_pipeline_requires_large_deal_approval_before_negotiation(personas: Personas) -> None:
    from salesflow.sales.gates import GateRefused
    from salesflow.sales.models import StageCriterion
    from salesflow.sales.services import opportunity_move_stage
    from salesflow.sales.tests.factories import stage

    make_rule(personas.admin, [manager_step()], conditions=LARGE)
    negotiation = stage("negotiation")
    StageCriterion.objects.create(stage=negotiation, kind="large_deal_approved", params={})
    deal = big_deal(personas.rep)
    with pytest.raises(GateRefused) as refused:
        opportunity_move_stage(actor=personas.rep, opportunity=deal, stage=negotiation)
    assert [u["code"] for u in refused.value.data["unmet"]] == ["large_deal_approved"]
    request_id = deal_request_approval(actor=personas.rep, opportunity_id=deal.pk).request_id
    assert request_id is not None
    request_approve(actor=personas.manager, request_id=request_id)
    moved = opportunity_move_stage(actor=personas.rep, opportunity=deal, stage=negotiation)
    assert moved.stage == negotiation


def test_a_delegate_reads_the_request_and_building_the_rows_asks_nothing(personas: Personas) -> None:
    """The readable rows of requests compose into timelines on every account page: building
    them must not query the delegations (the stand-in is a subquery), and still let today's
    stand-in read the request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from salesflow.approvals.permissions import requests_visible_to

    make_rule(personas.admin, [manager_step()])
    deal = big_deal(personas.rep)
    request_id = deal_request_approval(actor=personas.rep, opportunity_id=deal.pk).request_id
    outsider = User.objects.get(pk=personas.outsider.pk)
    with CaptureQueriesContext(connection) as built:
        rows = requests_visible_to(outsider)
    assert not [q for q in built.captured_queries if "approvals_delegation" in q["sql"]]
    assert list(rows.values_list("pk", flat=True)) == []
    today = timezone.localdate()
    Delegation.objects.create(
        user=personas.manager, delegate=personas.outsider, starts_on=today - timedelta(days=1), ends_on=today
    )
    assert list(requests_visible_to(outsider).values_list("pk", flat=True)) == [request_id]
    Delegation.objects.filter(delegate=personas.outsider).update(ends_on=today - timedelta(days=1))
    assert list(requests_visible_to(outsider).values_list("pk", flat=True)) == []
