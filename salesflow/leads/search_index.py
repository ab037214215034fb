"""How leads appear in the global search (registered in ``apps.ready``)."""

from __future__ import annotations

from salesflow.leads.models import Lead
from salesflow.search.documents import Document, register_search_document


def lead_document(lead: Lead) -> Document:
    return Document(
        title=lead.name,
        subtitle=lead.company_name,
        words=[lead.company_name, lead.email, lead.wechat],
        phones=[lead.mobile, lead.phone],
        credit_codes=[lead.credit_code],
    )


def register() -> None:
    register_search_document(
        "lead", Lead, lead_document, detail_url="leads:detail", list_url="leads:list", icon="ti-user-search"
    )
