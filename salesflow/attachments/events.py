"""Event types of the attachments app (labels: ``AttachmentsConfig.ready``).

The target of both events is the RECORD the file is attached to, so they show on its timeline.
"""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "attachments.attachment.added",
        {"attachment": "int", "file_name": "str", "size": "int", "kind": "str", "mime_type": "str"},
        description="A file was attached to the record (the event's target).",
    ),
    EventType(
        "attachments.attachment.deleted",
        {"attachment": "int", "file_name": "str", "size": "int", "kind": "str"},
        description="A file attached to the record (the event's target) was deleted.",
    ),
)
