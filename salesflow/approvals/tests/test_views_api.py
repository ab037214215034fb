"""Pages and API through the same services: the inbox, the request page and its buttons,
permissions per persona (403 not an approver, 404 unseen), the deal panel, rules and
delegations, concurrency, hostile input and query bounds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from salesflow.approvals.choices import RequestStatus
from salesflow.approvals.models import ApprovalAction, ApprovalRequest, ApprovalRule, Delegation
from salesflow.approvals.services import deal_request_approval
from salesflow.approvals.tests.factories import big_deal, make_rule, manager_step, users_step
from salesflow.core.models import AuditEvent
from salesflow.users.models import User
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


def _submit(personas: Personas, steps: list[dict[str, Any]] | None = None) -> int:
    make_rule(personas.admin, steps or [manager_step()])
    deal = big_deal(personas.rep)
    request_id = deal_request_approval(actor=personas.rep, opportunity_id=deal.pk).request_id
    assert request_id is not None
    return request_id


def test_request_page_visibility_per_persona(personas: Personas, client_for: Callable[..., Client]) -> None:
    request_id = _submit(personas)
    expected = {
        "rep": 200,
        "manager": 200,
        "admin": 200,
        "assistant": 200,
        "support": 200,
        "teammate": 404,
        "outsider": 404,
        "other_manager": 404,
    }
    for name, status in expected.items():
        response = client_for(getattr(personas, name)).get(f"/approvals/{request_id}/")
        assert response.status_code == status, name
    page = client_for(personas.manager).get(f"/approvals/{request_id}/").content.decode()
    assert 'data-testid="approve-button"' in page and "华东智能仓储项目" in page
    assert (
        'data-testid="approve-button"' not in client_for(personas.rep).get(f"/approvals/{request_id}/").content.decode()
    )


def test_actions_through_the_page_per_persona(personas: Personas, client_for: Callable[..., Client]) -> None:
    request_id = _submit(personas)
    for name, status in {
        "rep": 409,
        "assistant": 403,
        "support": 403,
        "admin": 403,
        "teammate": 404,
        "outsider": 404,
    }.items():
        response = client_for(getattr(personas, name)).post(f"/approvals/{request_id}/approve/", {"comment": ""})
        assert response.status_code == status, name
    assert ApprovalRequest.objects.get().status == RequestStatus.PENDING
    assert not ApprovalAction.objects.filter(action="approved").exists()
    manager = client_for(personas.manager)
    response = manager.post(f"/approvals/{request_id}/reject/", {"comment": ""})
    assert response.status_code == 400 and ApprovalRequest.objects.get().status == RequestStatus.PENDING
    response = manager.post(f"/approvals/{request_id}/return/", {"comment": "请补充预算", "to_step": 0})
    assert response.status_code == 302
    page = client_for(personas.rep).get(f"/approvals/{request_id}/").content.decode()
    assert "请补充预算" in page and 'data-testid="resubmit-button"' in page
    assert client_for(personas.rep).post(f"/approvals/{request_id}/resubmit/", {"comment": "已补充"}).status_code == 302
    assert manager.post(f"/approvals/{request_id}/approve/", {"comment": "同意", "step": 1}).status_code == 302
    assert ApprovalRequest.objects.get().status == RequestStatus.APPROVED
    assert manager.post(f"/approvals/{request_id}/approve/", {"comment": ""}).status_code == 409
    assert manager.post(f"/approvals/{request_id}/bogus/", {}).status_code == 404


def test_inbox_tabs_and_query_bound(
    personas: Personas, client_for: Callable[..., Client], django_assert_max_num_queries: Any
) -> None:
    make_rule(personas.admin, [manager_step()])
    for _ in range(6):
        deal_request_approval(actor=personas.rep, opportunity_id=big_deal(personas.rep).pk)
    manager = client_for(personas.manager)
    with django_assert_max_num_queries(12):
        response = manager.get("/approvals/")
    assert response.content.decode().count('data-testid="inbox-row"') == 6
    rep = client_for(personas.rep)
    assert rep.get("/approvals/").content.decode().count('data-testid="inbox-row"') == 0
    with django_assert_max_num_queries(12):
        mine = rep.get("/approvals/?box=mine")
    assert mine.content.decode().count('data-testid="inbox-row"') == 6
    assert rep.get("/approvals/?box=%00").status_code in (200, 400)


def test_api_inbox_detail_and_actions(personas: Personas, api_for: Callable[[User], Any]) -> None:
    request_id = _submit(personas, [manager_step(), users_step([personas.admin], name="管理员")])
    manager = api_for(personas.manager)
    inbox = manager.get("/approvals/inbox")
    assert inbox.status_code == 200 and [r["id"] for r in inbox.json()["items"]] == [request_id]
    detail = manager.get(f"/approvals/requests/{request_id}").json()
    assert detail["allowed"]["decide"] is True and detail["facts"]["amount"] == "800000.00"
    assert [s["status"] for s in detail["steps"]] == ["pending", "waiting"]
    assert api_for(personas.outsider).get(f"/approvals/requests/{request_id}").status_code == 404
    assert api_for(personas.outsider).post(f"/approvals/requests/{request_id}/approve", {}).status_code == 404
    assert api_for(personas.support).post(f"/approvals/requests/{request_id}/approve", {}).status_code == 403
    assert manager.post(f"/approvals/requests/{request_id}/reject", {"comment": ""}).status_code == 400
    assert manager.post(f"/approvals/requests/{request_id}/approve", {"comment": "ok", "step": 1}).status_code == 200
    admin = api_for(personas.admin)
    assert admin.post(f"/approvals/requests/{request_id}/approve", {"step": 1}).status_code == 409
    response = admin.post(f"/approvals/requests/{request_id}/return", {"comment": "请经理再看", "to_step": 1})
    assert response.status_code == 200 and response.json()["current_step"] == 1
    assert manager.post(f"/approvals/requests/{request_id}/approve", {}).status_code == 200
    response = admin.post(f"/approvals/requests/{request_id}/reject", {"comment": "不批"})
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert [a["action"] for a in response.json()["actions"]] == [
        "submitted",
        "approved",
        "returned",
        "approved",
        "rejected",
    ]
    assert api_for(personas.rep).get("/approvals/inbox", box="mine").json()["items"][0]["status"] == "rejected"


def test_api_withdraw_and_deal_request(personas: Personas, api_for: Callable[[User], Any]) -> None:
    make_rule(personas.admin, [manager_step()])
    deal = big_deal(personas.rep)
    assert api_for(personas.outsider).post(f"/approvals/deals/{deal.pk}/request", {}).status_code == 404
    assert api_for(personas.support).post(f"/approvals/deals/{deal.pk}/request", {}).status_code == 403
    rep = api_for(personas.rep)
    response = rep.post(f"/approvals/deals/{deal.pk}/request", {})
    assert response.status_code == 200 and response.json()["status"] == "pending"
    assert rep.post(f"/approvals/deals/{deal.pk}/request", {}).status_code == 409
    request_id = response.json()["request_id"]
    assert api_for(personas.manager).post(f"/approvals/requests/{request_id}/withdraw", {}).status_code == 403
    assert rep.post(f"/approvals/requests/{request_id}/withdraw", {}).json()["status"] == "withdrawn"
    assert rep.post(f"/approvals/requests/{request_id}/withdraw", {}).status_code == 409


def test_deal_panel_and_request_button(personas: Personas, client_for: Callable[..., Client]) -> None:
    make_rule(personas.admin, [manager_step()])
    deal = big_deal(personas.rep)
    rep = client_for(personas.rep)
    panel = rep.get(f"/approvals/deals/{deal.pk}/panel/").content.decode()
    assert 'data-testid="request-approval"' in panel
    assert (
        'data-testid="request-approval"'
        not in client_for(personas.support).get(f"/approvals/deals/{deal.pk}/panel/").content.decode()
    )
    assert client_for(personas.outsider).get(f"/approvals/deals/{deal.pk}/panel/").status_code == 404
    assert client_for(personas.support).post(f"/approvals/deals/{deal.pk}/request/").status_code == 403
    response = rep.post(f"/approvals/deals/{deal.pk}/request/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'data-testid="approval-panel-request"' in response.content.decode()
    again = rep.post(f"/approvals/deals/{deal.pk}/request/", headers={"HX-Request": "true"})
    assert 'data-testid="approval-panel-error"' in again.content.decode()
    assert ApprovalRequest.objects.count() == 1
    assert "approval-panel-slot" in rep.get(f"/opportunities/{deal.pk}/").content.decode()


def test_rules_api_admin_only_and_validated(personas: Personas, api_for: Callable[[User], Any]) -> None:
    body = {
        "kind": "quotes.quote",
        "name": "折扣超过 15%",
        "priority": 10,
        "conditions": [{"fact": "discount_percent", "operator": "gt", "value": "15"}],
        "steps": [{"name": "销售经理", "approver_type": "manager_chain", "levels": 1}],
    }
    assert api_for(personas.manager).post("/approvals/rules", body).status_code == 403
    assert api_for(personas.manager).get("/approvals/rules").status_code == 403
    admin = api_for(personas.admin)
    created = admin.post("/approvals/rules", body)
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    assert created.json()["conditions"] == [{"fact": "discount_percent", "operator": "gt", "value": "15"}]
    hostile = [
        {**body, "surprise": 1},
        {**body, "kind": "Robert'); DROP"},
        {**body, "name": "x\x00y"},
        {**body, "name": "长" * 50_000},
        {**body, "conditions": [{"fact": "amount", "operator": "gt", "value": "NaN"}]},
        {**body, "conditions": [{"fact": "amount", "operator": "gt", "value": "1e400"}]},
        {**body, "conditions": [{"fact": "amount", "operator": "contains", "value": "1"}]},
        {**body, "conditions": [{"fact": "secret", "operator": "eq", "value": "1"}]},
        {**body, "conditions": [{"fact": "region", "operator": "in", "value": []}]},
        {**body, "steps": []},
        {**body, "steps": [{"name": "x", "approver_type": "users", "user_ids": [999999]}]},
        {**body, "steps": [{"name": "x", "approver_type": "role", "role": "pope"}]},
        {**body, "steps": [{"name": "x", "approver_type": "manager_chain", "levels": 99}]},
        {**body, "priority": "high"},
        {**body, "priority": 2**70},
    ]
    for payload in hostile:
        response = admin.post("/approvals/rules", payload)
        assert response.status_code == 400, (payload, response.content)
    response = admin.client.post("/api/v1/approvals/rules", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert ApprovalRule.objects.count() == 1
    replaced = admin.patch(f"/approvals/rules/{rule_id}", {"name": "改名", "active": False})
    assert replaced.status_code == 200 and replaced.json()["name"] == "改名" and not replaced.json()["active"]
    assert replaced.json()["steps"][0]["approver_type"] == "manager_chain"
    assert admin.patch(f"/approvals/rules/{rule_id}", {"steps": []}).status_code == 400
    assert api_for(personas.manager).patch(f"/approvals/rules/{rule_id}", {"name": "x"}).status_code == 403
    assert admin.get("/approvals/rules/999999").status_code == 404
    assert admin.delete(f"/approvals/rules/{rule_id}").status_code == 204
    assert AuditEvent.objects.filter(verb__startswith="approvals.rule.").count() == 3


def test_hostile_decisions(personas: Personas, api_for: Callable[[User], Any]) -> None:
    request_id = _submit(personas)
    manager = api_for(personas.manager)
    for payload in (
        {"comment": "x" * 2001},
        {"comment": "a\x00b"},
        {"comment": 5},
        {"extra": True},
        {"step": "one"},
        {"step": 2**70},
    ):
        assert manager.post(f"/approvals/requests/{request_id}/approve", payload).status_code == 400, payload
    assert manager.post(f"/approvals/requests/{request_id}/return", {"comment": "x", "to_step": -1}).status_code == 400
    assert manager.post(f"/approvals/requests/{request_id}/return", {"comment": "x", "to_step": 1}).status_code == 400
    assert manager.post("/approvals/requests/99999999/approve", {}).status_code == 404
    assert manager.get(f"/approvals/requests/{2**70}").status_code in (400, 404)
    assert ApprovalRequest.objects.get().status == RequestStatus.PENDING
    assert ApprovalAction.objects.count() == 1


def test_delegations_api_and_page(
    personas: Personas, api_for: Callable[[User], Any], client_for: Callable[..., Client]
) -> None:
    today = timezone.localdate()
    body = {"delegate_id": personas.teammate.pk, "starts_on": str(today), "ends_on": str(today + timedelta(days=7))}
    manager = api_for(personas.manager)
    created = manager.post("/approvals/delegations", body)
    assert created.status_code == 201 and created.json()["user_id"] == personas.manager.pk
    assert manager.post("/approvals/delegations", {**body, "user_id": personas.rep.pk}).status_code == 403
    assert manager.post("/approvals/delegations", {**body, "delegate_id": personas.manager.pk}).status_code == 400
    assert (
        manager.post("/approvals/delegations", {**body, "ends_on": str(today - timedelta(days=1))}).status_code == 400
    )
    assert manager.post("/approvals/delegations", {**body, "ends_on": "2026-02-30"}).status_code == 400
    assert manager.post("/approvals/delegations", {**body, "delegate_id": 10**12}).status_code == 400
    admin = api_for(personas.admin)
    assert admin.post("/approvals/delegations", {**body, "user_id": personas.rep.pk}).status_code == 201
    delegation_id = created.json()["id"]
    assert api_for(personas.outsider).delete(f"/approvals/delegations/{delegation_id}").status_code == 404
    assert api_for(personas.teammate).delete(f"/approvals/delegations/{delegation_id}").status_code == 403
    assert len(api_for(personas.teammate).get("/approvals/delegations").json()) == 2  # received both
    page = client_for(personas.manager).get("/approvals/delegations/")
    assert page.status_code == 200 and page.content.decode().count('data-testid="delegation-row"') == 1
    assert manager.delete(f"/approvals/delegations/{delegation_id}").status_code == 204
    assert Delegation.objects.count() == 1


def test_rules_page_admin_only(personas: Personas, client_for: Callable[..., Client]) -> None:
    assert client_for(personas.manager).get("/settings/approvals/").status_code == 403
    admin = client_for(personas.admin)
    assert admin.get("/settings/approvals/").status_code == 200
    response = admin.post(
        "/settings/approvals/",
        {
            "kind": "contracts.contract",
            "name": "非标准条款",
            "priority": 10,
            "active": "on",
            "remind_after_hours": 24,
            "escalate_after_hours": 72,
            "c0_fact": "non_standard_terms",
            "c0_operator": "is_true",
            "s0_name": "经理与管理员会签",
            "s0_approver_type": "users",
            "s0_users": [personas.manager.pk, personas.admin.pk],
            "s0_levels": 1,
            "s0_mode": "all",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = ApprovalRule.objects.get()
    assert rule.steps.get().mode == "all"
    assert admin.get(f"/settings/approvals/{rule.pk}/").status_code == 200
    bad = admin.post(
        "/settings/approvals/",
        {"kind": "contracts.contract", "name": "x", "priority": 1, "remind_after_hours": 1, "escalate_after_hours": 1},
    )
    assert bad.status_code == 400 and ApprovalRule.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_approvers_at_once_exactly_one_wins(personas: Personas) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("concurrent writers: PostgreSQL (SQLite serialises IMMEDIATE transactions)")
    from salesflow.approvals.services import request_approve
    from salesflow.core.errors import Conflict

    request_id = _submit(personas, [users_step([personas.manager, personas.other_manager])])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(user: User) -> None:
        from django.db import connection as conn

        try:
            barrier.wait()
            request_approve(actor=user, request_id=request_id)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("409")
        finally:
            conn.close()

    threads = [threading.Thread(target=act, args=(u,)) for u in (personas.manager, personas.other_manager)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["409", "ok"]
    assert ApprovalAction.objects.filter(action="approved").count() == 1
    assert ApprovalRequest.objects.get().status == RequestStatus.APPROVED


def test_request_page_and_panel_queries_do_not_grow_with_history(
    personas: Personas, client_for: Callable[..., Client], django_assert_max_num_queries: Any
) -> None:
    from salesflow.approvals.services import request_resubmit, request_return

    request_id = _submit(personas, [manager_step(), users_step([personas.admin, personas.other_manager], mode="all")])
    for _ in range(5):
        request_return(actor=personas.manager, request_id=request_id, to_step=0, comment="再补充")
        request_resubmit(actor=personas.rep, request_id=request_id)
    manager = client_for(personas.manager)
    manager.get(f"/approvals/{request_id}/")
    with django_assert_max_num_queries(20):
        page = manager.get(f"/approvals/{request_id}/")
    assert page.content.decode().count('data-testid="history-row"') == 11
    deal_id = ApprovalRequest.objects.get().object_id
    rep = client_for(personas.rep)
    rep.get(f"/approvals/deals/{deal_id}/panel/")  # the session is written on the first request
    with django_assert_max_num_queries(12):
        panel = rep.get(f"/approvals/deals/{deal_id}/panel/")
    assert panel.status_code == 200
