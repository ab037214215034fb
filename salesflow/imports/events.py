"""Event types of imports (labels: ``ImportsConfig.ready``). The target is the import job."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "imports.job.created",
        {"kind": "str", "file_name": "str", "rows": "int"},
        description="A file was uploaded for import.",
    ),
    EventType(
        "imports.job.started",
        {"kind": "str", "mode": "str", "rows": "int", "resumed": "bool"},
        description="An import was started (or resumed) in the background.",
    ),
    EventType(
        "imports.job.finished",
        {"status": "str", "created": "int", "skipped": "int", "rejected": "int"},
        description="An import finished, failed or was cancelled.",
    ),
    EventType("imports.job.cancel_requested", {}, description="Cancelling an import was asked for."),
    EventType(
        "imports.job.rolled_back",
        {"deleted": "int", "kept": "int"},
        description="The records an import created were deleted again.",
    ),
    EventType(
        "imports.template.saved",
        {"kind": "str", "name": "str", "shared": "bool"},
        description="A column-mapping template was saved.",
    ),
    EventType(
        "imports.template.deleted", {"kind": "str", "name": "str"}, description="A mapping template was deleted."
    ),
)
