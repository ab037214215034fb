"""Event types of customer protection (labels: ``ProtectionConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "protection.list.loaded",
        {
            "source_system": "str",
            "total": "int",
            "created": "int",
            "updated": "int",
            "rejected": "int",
            "flagged": "int",
        },
        description="A known-customer list was loaded (the target is the load with its summary; flagged: "
        "existing leads and accounts newly marked as existing customers).",
    ),
    EventType(
        "protection.known_customer.routed",
        {"known_customer_id": "int", "owner": "int", "company": "str"},
        description="A lead of a known customer was routed to the customer's owner (the target is the lead).",
    ),
    EventType(
        "protection.collision.opened",
        {
            "collision_id": "int",
            "claimant": "int",
            "holder": "int",
            "arbiter": "int|null",
            "existing_kind": "str",
            "existing_id": "int",
            "score_percent": "int",
            "reasons": "list",
        },
        description="A collision was opened: the target is the new record, the existing one is related.",
    ),
    EventType(
        "protection.collision.decided",
        {
            "collision_id": "int",
            "decision": "str",
            "direction": "str",
            "claimant": "int",
            "holder": "int",
            "note": "str",
        },
        description="An arbiter decided a collision (keep, transfer or share); on both records' timelines.",
    ),
)
