"""Test data for the approval engine: rules through the service, deals of the personas."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from salesflow.approvals.models import ApprovalRule
from salesflow.approvals.services import DEAL_KIND, rule_save
from salesflow.sales.models import Opportunity
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.models import User


def make_rule(
    admin: User,
    steps: list[dict[str, Any]],
    *,
    conditions: list[dict[str, Any]] | None = None,
    kind: str = DEAL_KIND,
    name: str = "大额商机",
    priority: int = 10,
    **extra: Any,
) -> ApprovalRule:
    return rule_save(
        actor=admin, kind=kind, name=name, priority=priority, conditions=conditions or [], steps=steps, **extra
    )


def manager_step(levels: int = 1, mode: str = "any", name: str = "经理审批") -> dict[str, Any]:
    return {"name": name, "approver_type": "manager_chain", "levels": levels, "mode": mode}


def users_step(users: list[User], mode: str = "any", name: str = "指定审批人") -> dict[str, Any]:
    return {"name": name, "approver_type": "users", "user_ids": [u.pk for u in users], "mode": mode}


def big_deal(owner: User, amount: str = "800000") -> Opportunity:
    return make_opportunity(owner, amount=Decimal(amount), name="华东智能仓储项目")
