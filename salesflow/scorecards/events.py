"""Event types of appraisals (labels: ``ScorecardsConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "scorecards.appraisal.created",
        {"rep": "int", "period": "str", "rating": "str"},
        description="A manager appraised a rep (the target) for a month or a quarter.",
    ),
    EventType(
        "scorecards.appraisal.updated",
        {"rep": "int", "period": "str", "changes": "changes"},
        description="A manager changed an appraisal's rating or comment.",
    ),
)
