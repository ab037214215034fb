"""Event types of the work reports app (labels: ``WorkReportsConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "workreports.report.created",
        {"author": "int", "kind": "str", "period_start": "date"},
        description="A draft report was started for a period.",
    ),
    EventType("workreports.report.updated", {"changes": "changes"}, description="A draft's text changed."),
    EventType(
        "workreports.report.submitted",
        {"author": "int", "kind": "str", "period_start": "date", "manager": "int|null"},
        description="A report was submitted to the author's manager; its facts are frozen.",
    ),
    EventType(
        "workreports.report.commented",
        {"author": "int", "comment": "int"},
        description="A manager or administrator commented on a report (author = the report's author).",
    ),
    EventType(
        "workreports.reminder.sent",
        {"user": "int", "kind": "str", "period_start": "date"},
        description="A user was reminded that their report of a period is missing.",
    ),
)
