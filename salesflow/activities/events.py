"""Event types of the activities app (labels: ``ActivitiesConfig.ready``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

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
    # issue 7: follow-up discipline
    EventType(
        "activities.activity.checked_in",
        {"lat": "decimal|null", "lng": "decimal|null", "address": "str"},
        description="The owner checked in at a visit (location from the browser, or a typed address).",
        label=_("checked in at the visit"),
    ),
    EventType(
        "activities.kind_config.saved",
        {"kind": "str", "changes": "changes"},
        description="An administrator changed what completing an activity of a type requires.",
        label=_("changed an activity type setting"),
    ),
    EventType(
        "activities.escalation_step.saved",
        {"position": "int", "changes": "changes"},
        description="An administrator added or changed a step of the follow-up escalation ladder.",
        label=_("changed the escalation ladder"),
    ),
    EventType(
        "activities.escalation_step.deleted",
        {"position": "int", "action": "str"},
        description="An administrator removed a step of the follow-up escalation ladder.",
        label=_("changed the escalation ladder"),
    ),
    EventType(
        "activities.follow_up.escalated",
        {
            "step": "int",
            "action": "str",
            "episode": "date",
            "days_over": "int",
            "owner": "int",
            # the owner's manager the job found (notify_manager / mark_at_risk go to them)
            "manager": "int|null",
            # the recipients who get this record in a digest (activities.follow_up.digest), not on its own
            "digest_for": "list",
        },
        optional=frozenset({"manager", "digest_for"}),
        description=(
            "An account or open deal had no follow-up within its grade's frequency plus grace: a step of "
            "the ladder was taken (remind_owner, notify_manager, mark_at_risk). One per record, step and due date."
        ),
        label=_("escalated a missed follow-up"),
    ),
    EventType(
        "activities.follow_up.digest",
        {
            "recipient": "int",
            "as_manager": "bool",
            "count": "int",
            "accounts": "list",
            "opportunities": "list",
        },
        description=(
            "One run of the follow-up ladder had more than SALESFLOW_ESCALATION_DIGEST_OVER records for one "
            "person as owner (reminders) or as manager (escalations): one digest instead of a notification each. "
            "Target: the recipient; accounts and opportunities: the first 50 ids of each; count: all of them."
        ),
        label=_("missed follow-ups were sent as one digest"),
    ),
)
