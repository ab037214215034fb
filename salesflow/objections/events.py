"""Event types of the objection library (labels: ``ObjectionsConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "objections.category.created",
        {"code": "str", "name_en": "str", "name_zh": "str"},
        description="An objection category was added.",
    ),
    EventType("objections.category.updated", {"changes": "changes"}, description="An objection category changed."),
    EventType(
        "objections.objection.created",
        {"category": "str", "text_en": "str", "text_zh": "str"},
        description="A manager or administrator added an objection to the library.",
    ),
    EventType("objections.objection.updated", {"changes": "changes"}, description="An objection was edited."),
    EventType(
        "objections.answer.created",
        {"objection_id": "int", "status": "str"},
        description="A recommended answer was added to an objection (the target is the answer).",
    ),
    EventType(
        "objections.answer.suggested",
        {"objection_id": "int", "status": "str"},
        description="A rep suggested an answer; it waits for approval (the target is the answer).",
    ),
    EventType("objections.answer.updated", {"changes": "changes"}, description="An answer was edited or approved."),
    EventType(
        "objections.deal.logged",
        {"objection_id": "int", "answer_id": "int|null", "objection": "str", "stage_id": "int|null"},
        description="An objection raised on the deal (the target) and the answer used were logged.",
    ),
    EventType(
        "objections.deal.log_deleted",
        {"objection_id": "int", "answer_id": "int|null", "objection": "str"},
        description="A logged objection was removed from the deal (the target).",
    ),
)
