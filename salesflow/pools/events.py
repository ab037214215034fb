"""Event types of the public pools (labels: ``PoolsConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "pools.record.claimed",
        {"kind": "str", "pool_id": "int", "pool": "str", "owner": "int", "protected_until": "str"},
        description="A user claimed a lead or account (the target) from a public pool.",
    ),
    EventType(
        "pools.record.released",
        {"kind": "str", "pool_id": "int", "pool": "str", "previous_owner": "int", "reason": "str"},
        description="The owner or their manager released a lead or account (the target) to a pool.",
    ),
    EventType(
        "pools.record.recycle_warning",
        {"kind": "str", "pool_id": "int", "pool": "str", "owner": "int", "rule_id": "int", "due_on": "date"},
        description="A recycle rule will return the target to a pool on due_on; its owner is warned.",
    ),
    EventType(
        "pools.record.recycled",
        {"kind": "str", "pool_id": "int", "pool": "str", "previous_owner": "int", "rule_id": "int", "rule": "str"},
        description="A recycle rule returned the target to a pool (its owner is cleared).",
    ),
    EventType("pools.pool.saved", {"name": "str", "created": "bool"}, description="An administrator saved a pool."),
    EventType("pools.pool.deleted", {"name": "str"}, description="An administrator deleted an empty pool."),
    EventType(
        "pools.cap.saved",
        {"kind": "str", "grade": "str", "max_count": "int", "created": "bool"},
        description="An administrator saved an ownership cap.",
    ),
    EventType("pools.cap.deleted", {"kind": "str", "grade": "str"}, description="An ownership cap was deleted."),
    EventType(
        "pools.recycle_rule.saved",
        {"name": "str", "created": "bool"},
        description="An administrator saved a recycle rule.",
    ),
    EventType("pools.recycle_rule.deleted", {"name": "str"}, description="A recycle rule was deleted."),
)
