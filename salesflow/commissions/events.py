"""Event types of commissions (labels: ``CommissionsConfig.ready``).

Payloads carry amounts and rates as decimal strings."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "commissions.plan.created",
        {"name": "str", "valid_from": "date", "valid_to": "date", "active": "bool"},
        description="A commission plan (the target) was created.",
    ),
    EventType(
        "commissions.plan.updated",
        {"changes": "changes"},
        description="A commission plan's name, validity, notes or active flag changed.",
    ),
    EventType(
        "commissions.plan.deleted",
        {"name": "str"},
        description="A commission plan without statements was deleted (the target no longer exists).",
    ),
    EventType(
        "commissions.rule.created",
        {
            "plan_id": "int",
            "name": "str",
            "basis": "str",
            "role": "str",
            "product_line_id": "int|null",
            "rate": "decimal",
            "tiers": "list",
        },
        description="A rule (the target) was added to a plan; tiers are [{threshold_bp, multiplier_milli}].",
    ),
    EventType(
        "commissions.rule.updated",
        {"plan_id": "int", "changes": "changes"},
        description="A rule's name, role, product line, rate or tiers changed.",
    ),
    EventType(
        "commissions.rule.deleted",
        {"plan_id": "int", "name": "str"},
        description="A rule was deleted (the target is its plan).",
    ),
    EventType(
        "commissions.statement.generated",
        {
            "rep": "int",
            "period": "str",
            "lines": "int",
            "basis_total": "decimal",
            "commission_total": "decimal",
            "recomputed": "bool",
        },
        description="A draft statement (the target) was generated or recomputed.",
    ),
    EventType(
        "commissions.statement.submitted",
        {"rep": "int", "period": "str", "commission_total": "decimal"},
        description="A draft statement was submitted for approval.",
    ),
    EventType(
        "commissions.statement.returned",
        {"rep": "int", "period": "str", "reason": "str"},
        description="A submitted statement was sent back to draft.",
    ),
    EventType(
        "commissions.statement.approved",
        {"rep": "int", "period": "str", "commission_total": "decimal"},
        description="A submitted statement was approved by the rep's manager or an administrator.",
    ),
    EventType(
        "commissions.statement.locked",
        {"rep": "int", "period": "str", "commission_total": "decimal"},
        description="An approved statement was locked (immutable from now on).",
    ),
    EventType(
        "commissions.statement.corrected",
        {"rep": "int", "period": "str", "corrects": "int", "sequence": "int"},
        description="A correction (the target) of a locked statement was started.",
    ),
    EventType(
        "commissions.statement.exported",
        {"format": "str", "lines": "int"},
        description="A statement was exported (CSV or XLSX).",
    ),
)
