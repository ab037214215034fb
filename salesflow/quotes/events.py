"""Event types of quotes (labels: ``QuotesConfig.ready``). The target is always the
``Quote``; ``version`` is the version number the step concerns."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "quotes.quote.created",
        {"number": "str", "opportunity_id": "int", "version": "int", "total": "decimal", "currency": "str"},
        description="A quote was created from an opportunity (version 1, draft).",
    ),
    EventType(
        "quotes.quote.updated",
        {"version": "int", "changes": "changes"},
        description="The draft version's header or lines changed (changes: {field: [old, new]}).",
    ),
    EventType(
        "quotes.quote.submitted",
        {"version": "int", "status": "str", "request_id": "int|null", "total": "decimal", "facts": "dict"},
        description="A draft was issued: customer data frozen; approved at once or under approval.",
    ),
    EventType("quotes.quote.approved", {"version": "int"}, description="The approval engine approved the version."),
    EventType(
        "quotes.quote.rejected",
        {"version": "int", "comment": "str"},
        description="The approval engine rejected the version; it is a draft again.",
    ),
    EventType(
        "quotes.quote.withdrawn",
        {"version": "int"},
        description="The approval request was withdrawn; the version is a draft again.",
    ),
    EventType(
        "quotes.quote.revised",
        {"version": "int", "previous_version": "int", "previous_status": "str"},
        description="A new draft version was made from the issued one (lines copied).",
    ),
    EventType(
        "quotes.quote.sent",
        {"version": "int", "to": "list", "language": "str"},
        description="The version's PDF was emailed to the customer.",
    ),
    EventType(
        "quotes.quote.accepted",
        {"version": "int", "name": "str", "ip": "str|null", "total": "decimal"},
        description="The customer accepted the version through the public link.",
    ),
    EventType(
        "quotes.quote.declined",
        {"version": "int", "name": "str", "ip": "str|null", "reason": "str"},
        description="The customer declined the version through the public link.",
    ),
    EventType(
        "quotes.quote.expired",
        {"version": "int", "valid_until": "date"},
        description="The version's validity ended without a decision.",
    ),
    EventType(
        "quotes.company_profile.saved",
        {"changes": "changes"},
        description="An administrator changed the company header printed on quotes.",
    ),
)
