"""Event types of lead scoring and data quality (labels: ``ScoringConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "scoring.rule.created",
        {"label": "str", "category": "str", "attribute": "str", "operator": "str", "value": "str", "points": "int"},
        description="An administrator added a score rule (the target); every lead is rescored.",
    ),
    EventType(
        "scoring.rule.updated",
        {"changes": "changes"},
        description="A score rule (the target) changed; every lead is rescored.",
    ),
    EventType(
        "scoring.rule.deleted",
        {"label": "str"},
        description="A score rule was deleted; every lead is rescored.",
    ),
    EventType(
        "scoring.record.verified",
        {"kind": "str", "previous": "str|null"},
        description="Someone verified the record's data (核实); previous is the former last-verified time.",
    ),
    EventType(
        "scoring.model.trained",
        {"roc_auc": "str", "brier": "str", "brier_base": "str", "shown": "bool"},
        description="A learned model (the target) was trained; shown says whether it beat the base rate.",
    ),
)
