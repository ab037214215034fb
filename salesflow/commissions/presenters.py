"""Plain dicts of plans, rules and statements for the API (money and rates as decimal strings)."""

from __future__ import annotations

from typing import Any

from salesflow.commissions.models import CommissionPlan, CommissionRule, CommissionStatement, StatementLine
from salesflow.core.money import format_amount


def rule_out(rule: CommissionRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "plan_id": rule.plan_id,
        "name": rule.name,
        "basis": rule.basis,
        "role": rule.role,
        "product_line_id": rule.product_line_id,
        "rate": f"{rule.rate:f}",
        "tiers": [{"threshold": f"{t.threshold:f}", "multiplier": f"{t.multiplier:f}"} for t in rule.tiers.all()],
    }


def plan_out(plan: CommissionPlan) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "name": plan.name,
        "valid_from": plan.valid_from,
        "valid_to": plan.valid_to,
        "active": plan.active,
        "notes": plan.notes,
        "rules": [rule_out(r) for r in plan.rules.all()],
    }


def statement_out(s: CommissionStatement) -> dict[str, Any]:
    return {
        "id": s.pk,
        "rep_id": s.rep_id,
        "rep_name": str(s.rep),
        "period": s.period_key,
        "sequence": s.sequence,
        "corrects_id": s.corrects_id,
        "plan_id": s.plan_id,
        "status": s.status,
        "currency": s.currency,
        "basis_total": format_amount(s.basis_total, s.currency),
        "commission_total": format_amount(s.commission_total, s.currency),
        "attainment": s.attainment or {},
        "missing_rates": list(s.missing_rates or []),
        "computed_at": s.computed_at,
        "approved_by_id": s.approved_by_id,
        "approved_at": s.approved_at,
        "locked_at": s.locked_at,
    }


def line_out(line: StatementLine, currency: str) -> dict[str, Any]:
    return {
        "id": line.pk,
        "kind": line.kind,
        "opportunity_id": line.opportunity_id,
        "payment_id": line.payment_id,
        "reference": line.reference,
        "day": line.day,
        "rule_id": line.rule_id,
        "rule_name": line.rule_name,
        "product_line_id": line.product_line_id,
        "source_amount": format_amount(line.source_amount, line.source_currency),
        "source_currency": line.source_currency,
        "basis": format_amount(line.basis, currency),
        "rate": f"{line.rate:f}",
        "multiplier": f"{line.multiplier:f}",
        "threshold": f"{line.threshold:f}",
        "commission": format_amount(line.commission, currency),
    }
