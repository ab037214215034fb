"""Event types of contracts and change orders (labels: ``ContractsConfig.ready``).

Every event's target is the contract; amendment events carry the version number."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "contracts.contract.created",
        {
            "number": "str",
            "title": "str",
            "owner": "int",
            "total": "decimal",
            "currency": "str",
            "quote_id": "int|null",
        },
        description="A contract was created, directly or from an accepted quote (quote_id).",
    ),
    EventType(
        "contracts.contract.updated",
        {"changes": "changes"},
        description="A draft contract's terms or lines changed ({field: [old, new]}; lines as totals).",
    ),
    EventType(
        "contracts.contract.submitted",
        {"status": "str", "request_id": "int|null", "total": "decimal"},
        description="A draft contract was submitted for approval: status approved (no rule) or pending_approval.",
    ),
    EventType(
        "contracts.contract.approved",
        {"version": "int"},
        description="The approval engine approved the contract.",
    ),
    EventType(
        "contracts.contract.rejected",
        {"version": "int", "comment": "str", "withdrawn": "bool"},
        description="The contract's approval was rejected or withdrawn; it is a draft again.",
    ),
    EventType(
        "contracts.contract.signed",
        {"signed_on": "date", "attachment_id": "int", "file_name": "str"},
        description="The approved contract was signed; the signed file is attached and the contract archived.",
    ),
    EventType(
        "contracts.amendment.created",
        {"version": "int", "number": "str", "reason": "str"},
        description="A change order (a draft next version) was opened on a signed contract.",
    ),
    EventType(
        "contracts.amendment.updated",
        {"version": "int", "changes": "changes"},
        description="A draft change order's terms, lines or reason changed.",
    ),
    EventType(
        "contracts.amendment.submitted",
        {"version": "int", "status": "str", "request_id": "int|null", "total": "decimal"},
        description="A change order was submitted for approval.",
    ),
    EventType(
        "contracts.amendment.approved",
        {"version": "int", "number": "str", "changes": "changes"},
        description="A change order was approved and became the contract's current version.",
    ),
    EventType(
        "contracts.amendment.rejected",
        {"version": "int", "comment": "str", "withdrawn": "bool"},
        description="A change order's approval was rejected or withdrawn; it is a draft again.",
    ),
    EventType(
        "contracts.contract.renewal_due",
        {"owner": "int", "end_date": "date", "days_left": "int"},
        description="The renewal reminder job: the signed contract ends in days_left days (once per end date).",
    ),
    EventType(
        "contracts.contract.terminated",
        {"terminated_on": "date", "reason": "str", "end_date": "date|null"},
        description="A signed contract was terminated early on terminated_on with a reason; it is read-only.",
    ),
    EventType(
        "contracts.contract.expired",
        {"end_date": "date"},
        description="The expiry job: the signed contract's end date has passed; it is expired and read-only.",
    ),
    EventType(
        "contracts.settings.updated",
        {"changes": "changes"},
        description="An administrator changed the contract settings (renewal reminder days).",
    ),
    EventType(
        "contracts.contract.renewed",
        {"opportunity_id": "int", "amount": "decimal"},
        description="A renewal opportunity was created for the contract's account and linked to the contract.",
    ),
)
