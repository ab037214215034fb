"""Event types of the duplicate check (labels: ``DedupeConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType("dedupe.report.started", {"run": "int"}, description="An administrator started a duplicate report."),
    EventType(
        "dedupe.report.completed",
        {"records": "int", "pairs": "int"},
        description="A duplicate report finished scanning the database.",
    ),
    EventType(
        "dedupe.pair.dismissed",
        {"kind": "str", "pk_a": "int", "pk_b": "int"},
        description="An administrator dismissed a pair of the duplicate report as not duplicates.",
    ),
)
