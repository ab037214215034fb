"""Event types of the activities app (labels: ``ActivitiesConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "activities.activity.created",
        {"kind": "str", "done": "bool", "owner": "int"},
        description="An activity or task was logged; summary is its outcome text.",
    ),
    EventType("activities.activity.updated", {"changes": "changes"}, description="Activity fields changed."),
    EventType(
        "activities.activity.completed",
        {"next_follow_up": "date|null"},
        description="An activity was completed, with the next follow-up if any.",
    ),
    EventType("activities.activity.deleted", {"kind": "str", "subject": "str"}, description="An activity was deleted."),
)
