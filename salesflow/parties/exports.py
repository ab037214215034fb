"""The account and contact lists as exports and saved views (``core.exports``): the rows are
built with the list pages' own filter forms and selectors, so an export applies exactly the
list's filter, sort and visibility. Totals of the list pages are counted from the same rows."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.exports import Column, ListSpec
from salesflow.parties.choices import BuyingRole, Grade, Industry, Lifecycle
from salesflow.parties.forms import AccountFilterForm, ContactFilterForm
from salesflow.parties.models import Account, Contact
from salesflow.parties.selectors import (
    ACCOUNT_DEFAULT_SORT,
    ACCOUNT_SORTS,
    CONTACT_DEFAULT_SORT,
    CONTACT_SORTS,
    account_list,
    contact_list,
    resolve_sort,
)
from salesflow.tags.selectors import parse_tag_id, tag_step
from salesflow.users.models import User


def account_rows(user: User, params: QueryDict) -> QuerySet[Account]:
    """What ``accounts:list`` shows for ``params`` (same form, selector and sort)."""
    filters = AccountFilterForm(params, user=user)
    sort, _order = resolve_sort(params.get("sort"), ACCOUNT_SORTS, ACCOUNT_DEFAULT_SORT)
    return tag_step(account_list(user, **filters.values(), sort=sort), parse_tag_id(params.get("tag")))


def contact_rows(user: User, params: QueryDict) -> QuerySet[Contact]:
    """What ``contacts:list`` shows for ``params``."""
    filters = ContactFilterForm(params)
    sort, _order = resolve_sort(params.get("sort"), CONTACT_SORTS, CONTACT_DEFAULT_SORT)
    return tag_step(contact_list(user, **filters.values(), sort=sort), parse_tag_id(params.get("tag")))


def _owner(obj: Any) -> str:
    return str(obj.owner) if obj.owner_id else ""


ACCOUNT_COLUMNS = [
    Column("id", _("ID"), lambda a: a.pk),
    Column("name", _("Name"), lambda a: a.name),
    Column("credit_code", _("Unified social credit code"), lambda a: a.credit_code),
    Column("lifecycle", _("Lifecycle"), lambda a: a.lifecycle, Lifecycle.choices),
    Column("grade", _("Grade"), lambda a: a.grade, Grade.choices),
    Column("industry", _("Industry"), lambda a: a.industry, Industry.choices),
    Column("region", _("Region"), lambda a: str(a.region) if a.region_id else ""),
    Column("owner", _("Owner"), _owner),
    Column("phone", _("Phone"), lambda a: a.phone),
    Column("created_at", _("Created"), lambda a: a.created_at),
]

CONTACT_COLUMNS = [
    Column("id", _("ID"), lambda c: c.pk),
    Column("name", pgettext_lazy("person", "Name"), lambda c: c.name),
    Column("account", _("Account"), lambda c: c.account.name),
    Column("title", _("Position"), lambda c: c.title),
    Column("buying_role", _("Buying role"), lambda c: c.buying_role, BuyingRole.choices),
    Column("mobile", _("Mobile"), lambda c: c.mobile),
    Column("phone", _("Phone"), lambda c: c.phone),
    Column("email", _("Email"), lambda c: c.email),
    Column("owner", _("Owner"), lambda c: str(c.account.owner) if c.account.owner_id else ""),
    Column("created_at", _("Created"), lambda c: c.created_at),
]


def register() -> None:
    from salesflow.core.exports import register_list

    register_list(
        ListSpec(
            key="accounts",
            label=_("Accounts"),
            url_name="accounts:list",
            params=frozenset(AccountFilterForm.base_fields) | {"tag"},
            build=account_rows,
            columns=ACCOUNT_COLUMNS,
        )
    )
    register_list(
        ListSpec(
            key="contacts",
            label=_("Contacts"),
            url_name="contacts:list",
            params=frozenset(ContactFilterForm.base_fields) | {"tag"},
            build=contact_rows,
            columns=CONTACT_COLUMNS,
        )
    )
