"""How opportunities appear in the global search (registered in ``apps.ready``)."""

from __future__ import annotations

from salesflow.parties.models import Account
from salesflow.sales.models import Opportunity
from salesflow.search.documents import Document, register_search_document, register_search_follower


def opportunity_document(opportunity: Opportunity) -> Document:
    return Document(
        title=opportunity.name,
        subtitle=opportunity.account.name,
        words=[opportunity.account.name],
    )


def register() -> None:
    register_search_document(
        "opportunity",
        Opportunity,
        opportunity_document,
        detail_url="opportunities:detail",
        list_url="opportunities:list",
        icon="ti-target-arrow",
        queryset=lambda: Opportunity.objects.select_related("account"),
    )
    register_search_follower(Account, Opportunity, "account_id")
