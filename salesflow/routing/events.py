"""Event types of lead capture and assignment (labels: ``RoutingConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "routing.form.created",
        {"name": "str", "source_channel": "str", "campaign": "str"},
        description="An administrator added a web-to-lead form (the target).",
    ),
    EventType("routing.form.updated", {"changes": "changes"}, description="A web-to-lead form was changed."),
    EventType("routing.form.deleted", {"name": "str"}, description="A web-to-lead form was deleted."),
    EventType(
        "routing.form.submitted",
        {"form_id": "int", "form": "str", "consent": "bool"},
        description="A visitor submitted a web-to-lead form; the target is the lead it created.",
    ),
    EventType(
        "routing.rule.created",
        {"name": "str", "strategy": "str", "position": "int"},
        description="An administrator added an assignment rule (the target).",
    ),
    EventType("routing.rule.updated", {"changes": "changes"}, description="An assignment rule was changed."),
    EventType("routing.rule.deleted", {"name": "str"}, description="An assignment rule was deleted."),
    EventType(
        "routing.sla.saved",
        {"source_channel": "str", "sub_channel": "str", "minutes": "int", "is_active": "bool"},
        description="A first-response SLA (the target) was added or changed.",
    ),
    EventType(
        "routing.sla.deleted",
        {"source_channel": "str", "sub_channel": "str"},
        description="A first-response SLA was deleted.",
    ),
    EventType(
        "routing.hours.saved",
        {"user_id": "int|null", "rule_id": "int|null", "weekdays": "str", "start": "str", "end": "str"},
        description="Working hours (the target) were added or changed.",
    ),
    EventType("routing.hours.deleted", {"weekdays": "str"}, description="Working hours were deleted."),
    EventType(
        "routing.lead.assigned",
        {"owner": "int", "rule_id": "int|null", "rule": "str", "strategy": "str", "reason": "str"},
        description="An assignment rule gave the lead (the target) an owner.",
    ),
    EventType(
        "routing.lead.sla_missed",
        {"owner": "int|null", "minutes": "int", "due_at": "str", "source_channel": "str"},
        description="The lead (the target) had no first response within its SLA; the owner's manager is told.",
    ),
)
