"""How accounts and contacts appear in the global search (registered in ``apps.ready``)."""

from __future__ import annotations

from salesflow.parties.models import Account, Contact
from salesflow.search.documents import Document, joined, register_search_document, register_search_follower


def account_document(account: Account) -> Document:
    return Document(
        title=account.name,
        subtitle=account.credit_code,
        phones=[account.phone],
        credit_codes=[account.credit_code],
    )


def contact_document(contact: Contact) -> Document:
    return Document(
        title=contact.name,
        subtitle=joined(contact.account.name, contact.title),
        words=[contact.account.name, contact.email, contact.wechat],
        phones=[contact.mobile, contact.phone],
    )


def register() -> None:
    register_search_document(
        "account", Account, account_document, detail_url="accounts:detail", list_url="accounts:list", icon="ti-building"
    )
    register_search_document(
        "contact",
        Contact,
        contact_document,
        detail_url="contacts:detail",
        list_url="contacts:list",
        icon="ti-address-book",
        queryset=lambda: Contact.objects.select_related("account"),
        owner="account__owner_id",  # readable with the account (``parties.permissions``)
    )
    register_search_follower(Account, Contact, "account_id")
