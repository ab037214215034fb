"""Event types of the approval engine (labels: ``ApprovalsConfig.ready``).

Request events target the :class:`~salesflow.approvals.models.ApprovalRequest` and appear
on the document's timeline too. ``pending_for`` names the users who now have to act (the
notification rules tell them), ``inform`` the users told of the outcome (the requester).
"""

from __future__ import annotations

from salesflow.core.events import EventType, declare

_REQUEST = {"kind": "str", "step": "int", "on_behalf_of": "int|null", "pending_for": "list", "inform": "list"}

declare(
    EventType(
        "approvals.request.submitted",
        {**_REQUEST, "rule": "str", "steps": "list"},
        description="A document was submitted and a rule routed it; the first step's approvers must act.",
    ),
    EventType(
        "approvals.request.auto_approved",
        {"kind": "str", "facts": "dict"},
        description="A document (the target) was submitted and no rule matched: approved without a request.",
    ),
    EventType(
        "approvals.request.step_approved",
        {**_REQUEST, "comment": "str"},
        description="An approver approved a step; the route moved on (or waits for the other approvers).",
    ),
    EventType(
        "approvals.request.approved",
        {**_REQUEST, "comment": "str"},
        description="The last step was approved: the request is approved and the document told.",
    ),
    EventType(
        "approvals.request.rejected",
        {**_REQUEST, "comment": "str"},
        description="An approver rejected the request (with a comment); the document was told.",
    ),
    EventType(
        "approvals.request.returned",
        {**_REQUEST, "comment": "str", "to_step": "int"},
        description="An approver returned the request to an earlier step (0: the requester); it stays pending.",
    ),
    EventType(
        "approvals.request.resubmitted",
        {**_REQUEST, "comment": "str"},
        description="The requester sent a returned request on to the first step again.",
    ),
    EventType(
        "approvals.request.withdrawn",
        {**_REQUEST},
        description="The requester withdrew the request; the document was told.",
    ),
    EventType(
        "approvals.request.reminded",
        {**_REQUEST, "hours": "int"},
        description="The reminder job reminded the step's approvers (once per step entry).",
    ),
    EventType(
        "approvals.request.escalated",
        {**_REQUEST, "hours": "int"},
        description="The reminder job added the approvers' managers to an overdue step (once per step entry).",
    ),
    EventType(
        "approvals.rule.saved", {"kind": "str", "name": "str", "created": "bool"}, description="A rule was saved."
    ),
    EventType("approvals.rule.deleted", {"kind": "str", "name": "str"}, description="A rule was deleted."),
    EventType(
        "approvals.delegation.saved",
        {"user": "int", "delegate": "int", "starts_on": "date", "ends_on": "date", "created": "bool"},
        description="A delegation was saved.",
    ),
    EventType(
        "approvals.delegation.deleted",
        {"user": "int", "delegate": "int"},
        description="A delegation was deleted.",
    ),
)
