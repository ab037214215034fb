"""Event types of improvement projects (labels: ``ImprovementConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "improvement.project.created",
        {"metric": "str", "node": "str", "phase": "str", "owner": "int"},
        description="A manager or an administrator opened an improvement project.",
    ),
    EventType(
        "improvement.project.updated",
        {"changes": "changes"},
        description="The owner or an administrator changed the project's definition.",
    ),
    EventType(
        "improvement.project.phase_changed",
        {"from": "str", "to": "str"},
        description="The project moved to another DMAIC phase.",
    ),
    EventType(
        "improvement.project.baseline_measured",
        {"n": "int", "mean": "str|null", "p50": "str|null", "p80": "str|null", "start": "date", "end": "date"},
        description="The baseline was measured from history (display unit: days or a fraction).",
    ),
    EventType(
        "improvement.project.control_set",
        {"n": "int", "centre": "str", "ucl": "str", "lcl": "str", "from": "date", "through": "date"},
        description="The control plan's XmR limits were set from the post-change observations.",
    ),
    EventType(
        "improvement.project.drifted",
        {"owner": "int", "signals": "list", "checked_from": "date", "checked_through": "date"},
        description="The daily control check found new points breaking a Western Electric rule.",
    ),
    EventType(
        "improvement.action.created",
        {"action": "int", "description": "str", "owner": "int"},
        description="An action (a change) was recorded on the project (the target).",
    ),
    EventType(
        "improvement.action.updated",
        {"action": "int", "changes": "changes"},
        description="An action's description, owner, due date or change date was changed.",
    ),
)
