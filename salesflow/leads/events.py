"""Event types of the leads app (labels: ``LeadsConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "leads.lead.created",
        {"owner": "int|null", "source_channel": "str", "source": "str"},
        # The demo generator records {"source": "demo"} only.
        frozenset({"owner", "source_channel", "source"}),
        description="A lead was created, owned by owner (null: unassigned).",
    ),
    EventType(
        "leads.lead.updated",
        {"changes": "changes"},
        description="Lead fields changed; an owner change is changes.owner = [old id, new id].",
    ),
    EventType("leads.lead.deleted", {"name": "str", "status": "str"}, description="A lead was deleted."),
    EventType(
        "leads.lead.status_changed",
        {"from": "str", "to": "str"},
        description="A new lead was marked contacted by its first logged touch.",
    ),
    EventType(
        "leads.lead.qualified",
        {"from": "str", "to": "str", "changes": "changes"},
        description="The lead was qualified; changes holds the BANT answers.",
    ),
    EventType(
        "leads.lead.disqualified",
        {"from": "str", "to": "str", "reason": "str", "note": "str"},
        description="The lead was disqualified for a reason (code).",
    ),
    EventType(
        "leads.lead.reopened",
        {"from": "str", "to": "str", "reason": "str|null"},
        description="A disqualified lead was reopened; reason is the one it had.",
    ),
    EventType(
        "leads.lead.converted",
        {
            "account": "int",
            "account_created": "bool",
            "contact": "int|null",
            "contact_created": "bool",
            "opportunity": "int|null",
        },
        description="The lead was converted into an account, a contact and optionally an opportunity.",
    ),
    EventType(
        "leads.lead.handed_off",
        {"from": "str", "to": "str", "note": "str"},
        description="The lead was handed off from marketing (MQL) to sales (SQL) with a note (issue 8).",
    ),
)
