"""Event types of payment collection and invoices (labels: ``BillingConfig.ready``).

Payloads carry amounts as decimal strings; timeline summaries never show an amount (the
account timeline is read by support, who sees no money)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "billing.plan.created",
        {"kind": "str", "document_id": "int", "terms": "str", "instalments": "int", "total": "decimal"},
        description="A payment plan was made for a contract or order (the target), from terms or by hand.",
    ),
    EventType(
        "billing.plan.reassigned",
        {"previous_owner": "int", "owner": "int", "instalments": "int", "payments": "int"},
        description="An open payment plan (the target), its instalments and payments followed the new owner "
        "of its account or of its deal.",
    ),
    EventType(
        "billing.plan.terminated",
        {
            "contract_id": "int",
            "terminated_on": "date",
            "voided": "int",
            "reduced": "int",
            "cancelled": "decimal",
            "remaining": "decimal",
        },
        description="The plan's contract was terminated: instalments due after the date were voided (unpaid) or "
        "cut to what was paid; remaining is what is still owed.",
    ),
    EventType(
        "billing.reminder_rule.changed",
        {"days": "int", "changes": "changes"},
        description="An administrator switched a payment reminder day (the target rule) on or off, or added it.",
    ),
    EventType(
        "billing.instalment.added",
        {"plan_id": "int", "amount": "decimal", "due_date": "date", "label": "str"},
        description="An instalment (the target) was added to a plan.",
    ),
    EventType(
        "billing.instalment.updated",
        {"plan_id": "int", "changes": "changes"},
        description="An instalment's amount, due date or label changed.",
    ),
    EventType(
        "billing.instalment.voided",
        {"plan_id": "int", "reason": "str"},
        description="An instalment was voided with a reason (it leaves the plan's sum and the ageing report).",
    ),
    EventType(
        "billing.instalment.deleted",
        {"plan_id": "int", "amount": "decimal", "due_date": "date"},
        description="An instalment without payments was deleted (the target is the plan).",
    ),
    EventType(
        "billing.instalment.reminder",
        {"days": "int", "due_date": "date", "owner": "int", "document": "str"},
        description="The reminder job reminds the owner and their assistants of an instalment due or overdue.",
    ),
    EventType(
        "billing.payment.recorded",
        {"number": "str", "amount": "decimal", "currency": "str", "received_on": "date", "method": "str"},
        description="A payment received (the target) was recorded.",
    ),
    EventType(
        "billing.payment.allocated",
        {"allocations": "list", "unallocated": "decimal", "auto": "bool"},
        description="Part of a payment was allocated to instalments ([{instalment_id, amount}]).",
    ),
    EventType(
        "billing.payment.unallocated",
        {"instalment_id": "int", "amount": "decimal"},
        description="An allocation was removed from a payment.",
    ),
    EventType(
        "billing.payment.voided",
        {"reason": "str", "released": "decimal"},
        description="A payment was voided; its allocations were released.",
    ),
    EventType(
        "billing.invoice.created",
        {"invoice_type": "str", "total": "decimal", "currency": "str"},
        description="A draft invoice was created.",
    ),
    EventType("billing.invoice.updated", {"changes": "changes"}, description="A draft invoice changed."),
    EventType(
        "billing.invoice.issued",
        {"number": "str", "issued_on": "date", "total": "decimal"},
        description="An invoice was issued and numbered; it is immutable from now on.",
    ),
    EventType("billing.invoice.voided", {"reason": "str"}, description="An invoice was voided with a reason."),
    EventType(
        "billing.invoice.red_reversed",
        {"reason": "str", "red_invoice_id": "int", "red_number": "str"},
        description="An issued invoice was reversed by a red (negative) invoice.",
    ),
)
