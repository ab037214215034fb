"""Event types of duplicates, access requests and merges (labels: ``MergingConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "merging.duplicate.saved_anyway",
        {"reason": "str", "candidates": "list", "action": "str"},
        description=(
            "A record (the target) was saved although possible duplicates were shown; ``candidates`` "
            "are ``[{kind, id, score}]`` and ``reason`` is what the user wrote."
        ),
    ),
    EventType(
        "merging.access.requested",
        {"kind": "str", "object_id": "int", "owner": "int|null", "requester": "int", "access": "str"},
        description="A user asked the owner of a record for access (the target is the request).",
    ),
    EventType(
        "merging.access.granted",
        {"kind": "str", "object_id": "int", "requester": "int", "access": "str", "share_id": "int"},
        description="The owner (or their manager, an administrator) granted an access request by sharing.",
    ),
    EventType(
        "merging.access.declined",
        {"kind": "str", "object_id": "int", "requester": "int", "access": "str"},
        description="An access request was declined.",
    ),
    EventType(
        "merging.record.merged",
        {"kind": "str", "merge_id": "int", "survivor": "int", "loser": "int", "loser_label": "str", "moved": "int"},
        description=(
            "A record was merged into the target (the survivor); the merged-away record's timeline "
            "shows it too. ``moved`` counts the related rows moved."
        ),
    ),
    EventType(
        "merging.record.merge_undone",
        {"kind": "str", "merge_id": "int", "survivor": "int", "loser": "int", "loser_label": "str"},
        description="A merge was undone: the merged-away record is back with its related rows.",
    ),
)
