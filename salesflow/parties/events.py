"""Event types of the parties app (labels: ``PartiesConfig.ready``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from salesflow.core.events import EventType, declare

declare(
    EventType("parties.account.created", {"owner": "int"}, description="An account was created for owner."),
    EventType("parties.account.updated", {"changes": "changes"}, description="Account fields changed."),
    EventType(
        "parties.account.deleted",
        {"name": "str", "credit_code": "str", "owner": "int|null"},
        description="An account was deleted; the event keeps its name and credit code.",
    ),
    EventType(
        "parties.account.lifecycle_changed",
        {"changes": "changes", "reason": "str", "opportunity": "int|null"},
        frozenset({"opportunity"}),
        description=(
            "The account's lifecycle changed as a consequence of another record (reason 'won_deal': "
            "a won deal, opportunity = its id, made the account a customer)."
        ),
        label=_("made the account a customer"),
    ),
    EventType("parties.contact.created", {}, description="A contact was added to an account."),
    EventType(
        "parties.contact.updated",
        {"changes": "changes"},
        description="Contact fields changed (protected archive fields record that they changed, not values).",
    ),
    EventType("parties.contact.deleted", {"name": "str", "account": "int"}, description="A contact was deleted."),
    # issue 7: follow-up discipline
    EventType(
        "parties.follow_up_policy.saved",
        {"grade": "str", "changes": "changes"},
        description="An administrator changed how often accounts of a grade are followed up.",
        label=_("changed a follow-up policy"),
    ),
    EventType(
        "parties.account.reassigned_for_neglect",
        {"from_owner": "int", "to_owner": "int", "reason": "str", "at_risk": "bool"},
        description="A manager gave a neglected account (and its open deals) to another owner, with a reason.",
        label=_("reassigned the neglected account"),
    ),
)
