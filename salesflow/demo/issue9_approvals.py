"""Demo approvals (审批, issue 9): believable rules for quotes, contracts and large deals, a
delegation, and large-deal requests in every state — all through the approval services."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from salesflow.approvals.models import ApprovalRequest, ApprovalRule, Delegation
from salesflow.approvals.services import (
    DEAL_KIND,
    deal_request_approval,
    delegation_save,
    request_approve,
    request_reject,
    request_return,
    rule_save,
)
from salesflow.core.errors import ServiceError
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.users.models import User

LARGE_DEAL = "1000000"


def _manager(levels: int = 1, name: str = "销售经理审批") -> dict[str, object]:
    return {"name": name, "approver_type": "manager_chain", "levels": levels, "mode": "any"}


def _admins(name: str = "管理员审批") -> dict[str, object]:
    return {"name": name, "approver_type": "role", "role": "admin", "mode": "any"}


def seed_approvals(users: dict[str, User]) -> dict[str, int]:
    """Create the rules (once: found by name), a delegation and a few large-deal requests:
    approved, rejected, returned to the rep, and waiting for the manager. Returns counts."""
    admin = users["demo-admin"]
    manager = users["wang"]
    rules = [
        {
            "kind": "quotes.quote",
            "name": "报价金额超过 50 万元",
            "priority": 10,
            "conditions": [{"fact": "amount", "operator": "gt", "value": "500000"}],
            "steps": [_manager(), _admins()],
        },
        {
            "kind": "quotes.quote",
            "name": "报价折扣超过 15%",
            "priority": 20,
            "conditions": [{"fact": "discount_percent", "operator": "gt", "value": "15"}],
            "steps": [_manager()],
        },
        {
            "kind": "contracts.contract",
            "name": "非标准合同条款",
            "priority": 10,
            "conditions": [{"fact": "non_standard_terms", "operator": "is_true", "value": None}],
            "steps": [
                {
                    "name": "经理与管理员会签",
                    "approver_type": "users",
                    "user_ids": [manager.pk, admin.pk],
                    "mode": "all",
                }
            ],
        },
        {
            "kind": "contracts.change_order",
            "name": "变更单金额超过 10 万元",
            "priority": 10,
            "conditions": [{"fact": "amount", "operator": "gt", "value": "100000"}],
            "steps": [_manager()],
        },
        {
            "kind": DEAL_KIND,
            "name": "大额商机（超过 100 万元）",
            "priority": 10,
            "remind_after_hours": 24,
            "escalate_after_hours": 48,
            "conditions": [{"fact": "amount", "operator": "gt", "value": LARGE_DEAL}],
            "steps": [_manager(), _admins("管理员终审")],
        },
    ]
    for rule in rules:
        if not ApprovalRule.objects.filter(kind=rule["kind"], name=rule["name"]).exists():
            rule_save(actor=admin, **rule)  # type: ignore[arg-type]
    today = timezone.localdate()
    if not Delegation.objects.filter(user=admin, delegate=manager).exists():
        delegation_save(
            actor=admin,
            user_id=admin.pk,
            delegate_id=manager.pk,
            starts_on=today - timedelta(days=1),
            ends_on=today + timedelta(days=6),
            note="年底出差，期间大额商机终审由王经理代批",
        )
    if ApprovalRequest.objects.filter(kind=DEAL_KIND).exists():
        return {"rules": ApprovalRule.objects.count(), "requests": ApprovalRequest.objects.count()}
    reps = [users[name] for name in ("zhangwei", "lina", "liuyang", "chenjing") if name in users]
    deals = list(
        Opportunity.objects.filter(owner__in=reps, outcome=Outcome.OPEN, currency="CNY", amount__gt=LARGE_DEAL)
        .select_related("owner")
        .order_by("-amount", "id")[:7]
    )
    plans = ["approved", "approved", "rejected", "returned", "pending", "pending", "at_admin"]
    for deal, plan in zip(deals, plans, strict=False):
        try:
            submission = deal_request_approval(actor=deal.owner, opportunity_id=deal.pk)
        except ServiceError:
            continue
        if submission.request_id is None:
            continue
        rid = submission.request_id
        if plan == "returned":
            request_return(
                actor=manager, request_id=rid, to_step=0, comment="请补充客户预算审批流程与付款计划后再提交。"
            )
        elif plan == "rejected":
            request_reject(actor=manager, request_id=rid, comment="折扣过大、毛利不足，请先与客户重新谈判价格。")
        elif plan in ("approved", "at_admin"):
            request_approve(actor=manager, request_id=rid, comment="客户资质良好，同意。")
            if plan == "approved":
                request_approve(actor=admin, request_id=rid, comment="同意，注意回款节奏。")
    return {"rules": ApprovalRule.objects.count(), "requests": ApprovalRequest.objects.count()}
