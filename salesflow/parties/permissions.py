"""Access functions for accounts and contacts. Unseen → 404; seen but not writable → 403."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.core.errors import Forbidden
from salesflow.parties.models import Account, Contact
from salesflow.users.models import User
from salesflow.users.permissions import visible_owner_ids, writable_owner_ids


def accounts_visible_to(user: User) -> QuerySet[Account]:
    """Every account ``user`` may see (the one visibility rule for lists, search, counts, API)."""
    ids = visible_owner_ids(user)
    qs = Account.objects.all()
    return qs if ids is None else qs.filter(owner_id__in=ids)


def can_write_account(user: User, account: Account) -> bool:
    ids = writable_owner_ids(user)
    return ids is None or account.owner_id in ids


def get_account_for_user(user: User, pk: object, *, write: bool = False) -> Account:
    """The account ``pk`` if visible (else ``Http404``); with ``write`` also writable (else ``Forbidden``)."""
    try:
        account = accounts_visible_to(user).select_related("owner", "region").get(pk=int(str(pk)))
    except (Account.DoesNotExist, ValueError):
        raise Http404("account not found") from None
    if write and not can_write_account(user, account):
        raise Forbidden(_("You may not change this account."))
    return account


def contacts_visible_to(user: User) -> QuerySet[Contact]:
    """Contacts of visible accounts."""
    ids = visible_owner_ids(user)
    qs = Contact.objects.all()
    return qs if ids is None else qs.filter(account__owner_id__in=ids)


def can_write_contact(user: User, contact: Contact) -> bool:
    ids = writable_owner_ids(user)
    return ids is None or contact.account.owner_id in ids


def get_contact_for_user(user: User, pk: object, *, write: bool = False) -> Contact:
    """The contact ``pk`` if its account is visible (else ``Http404``); ``write`` → writable or ``Forbidden``."""
    try:
        contact = contacts_visible_to(user).select_related("account", "account__owner").get(pk=int(str(pk)))
    except (Contact.DoesNotExist, ValueError):
        raise Http404("contact not found") from None
    if write and not can_write_contact(user, contact):
        raise Forbidden(_("You may not change this contact."))
    return contact
