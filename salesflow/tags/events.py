"""Event types of the tags app (labels: ``TagsConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType("tags.tag.created", {"name": "str", "colour": "str"}, description="An administrator created a tag."),
    EventType("tags.tag.updated", {"changes": "changes"}, description="A tag was renamed or recoloured."),
    EventType(
        "tags.tag.deleted",
        {"name": "str", "records": "int"},
        description="A tag was deleted; records is how many records lost it.",
    ),
    EventType("tags.settings.updated", {"changes": "changes"}, description="The tag settings changed."),
    EventType(
        "tags.record.tagged",
        {"tag_id": "int", "name": "str"},
        description="A tag was added to the record (the target).",
    ),
    EventType(
        "tags.record.untagged",
        {"tag_id": "int", "name": "str"},
        description="A tag was removed from the record (the target).",
    ),
)
