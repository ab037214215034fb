"""Reads for accounts and contacts: lists with filters, search and sort, and detail pages.

Every query starts from the visibility rule in ``parties.permissions`` and loads what the
templates and API schemas display, so rendering never triggers further queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from salesflow.core.audit import timeline_for
from salesflow.core.models import AuditEvent
from salesflow.parties import permissions
from salesflow.parties.models import Account, Contact, FollowUpPolicy
from salesflow.parties.permissions import (
    accounts_owned_by_scope,
    accounts_visible_to,
    can_write_account,
    contacts_owned_by_scope,
    contacts_visible_to,
)
from salesflow.search.selectors import filter_by_search
from salesflow.users.models import Territory, User
from salesflow.users.permissions import visible_owner_ids

# Public sort key → ascending ORDER BY. Every key is served by an index on the table
# (account_name_idx / account_owner_name_idx, account_created_idx; contact_name_idx, the pk).
ACCOUNT_SORTS: dict[str, Sequence[str]] = {
    "name": ("name", "id"),
    "created": ("created_at", "id"),
}
ACCOUNT_DEFAULT_SORT = "name"
CONTACT_SORTS: dict[str, Sequence[str]] = {
    "name": ("name", "id"),
    "created": ("id",),
}
CONTACT_DEFAULT_SORT = "name"

# How many contacts the account page shows before linking to the filtered contact list.
ACCOUNT_DETAIL_CONTACTS = 50


def resolve_sort(sort: str | None, allowed: Mapping[str, Sequence[str]], default: str) -> tuple[str, list[str]]:
    """``name`` / ``-name`` against the whitelist → (effective key, order_by fields).

    Unknown keys fall back to ``default``, so no request can sort by an unindexed column.
    """
    key = sort or default
    base = key.lstrip("-")
    if base not in allowed:
        key, base = default, default.lstrip("-")
    desc = key.startswith("-")
    fields = [("-" + f if not f.startswith("-") else f[1:]) if desc else f for f in allowed[base]]
    return key, fields


def territory_subtree_ids(territory_id: int) -> set[int]:
    """The territory and every territory below it (one query per tree level)."""
    result = {territory_id}
    frontier = [territory_id]
    while frontier:
        frontier = [
            pk
            for pk in Territory.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
            if pk not in result
        ]
        result.update(frontier)
    return result


def territory_choices() -> list[tuple[int, str]]:
    """All territories as ``(id, indented label)`` in tree order (one query)."""
    rows = list(Territory.objects.order_by("name").values_list("pk", "name", "parent_id"))
    children: dict[int | None, list[tuple[int, str]]] = {}
    for pk, name, parent_id in rows:
        children.setdefault(parent_id, []).append((pk, name))
    out: list[tuple[int, str]] = []

    def walk(parent: int | None, depth: int) -> None:
        for pk, name in children.get(parent, []):
            out.append((pk, "\u00a0\u00a0" * depth + ("└ " if depth else "") + name))
            walk(pk, depth + 1)

    walk(None, 0)
    return out


def visible_owners(user: User) -> QuerySet[User]:
    """Users whose records ``user`` can see: the owner filter of the lists."""
    ids = visible_owner_ids(user)
    qs = User.objects.filter(is_active=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.order_by("display_name", "username")


def accounts_writable_by(user: User) -> QuerySet[Account]:
    """Accounts ``user`` may change (e.g. to add contacts to), by name."""
    return permissions.accounts_writable_by(user).order_by("name", "id")


def account_list(
    user: User,
    *,
    q: str = "",
    lifecycle: str = "",
    grade: str = "",
    industry: str = "",
    region: int | None = None,
    owner: int | None = None,
    follow_up: str = "",
    sort: str | None = None,
    owned: bool = False,
) -> QuerySet[Account]:
    """Visible accounts matching the filters, sorted by a whitelisted key, with owner and
    region loaded.

    ``q`` searches the index (``search.selectors``): name, credit code or phone (contains,
    normalised). ``region`` includes the territories below it. ``follow_up``: ``overdue``
    (next follow-up due before today) or ``at_risk`` (issue 7). ``owned``: only the accounts
    owned in the user's scope (a subset of the visible ones: the API's count floor).
    """
    rows = accounts_owned_by_scope(user) if owned else accounts_visible_to(user)
    qs = rows.select_related("owner", "region")
    qs = filter_by_search(qs, "account", q)
    if lifecycle:
        qs = qs.filter(lifecycle=lifecycle)
    if grade:
        qs = qs.filter(grade=grade)
    if industry:
        qs = qs.filter(industry=industry)
    if region is not None:
        qs = qs.filter(region_id__in=territory_subtree_ids(region))
    if owner is not None:
        qs = qs.filter(owner_id=owner)
    if follow_up == "overdue":
        # account_follow_due_idx / account_owner_follow_due_idx; "today" in the reader's zone
        qs = qs.filter(next_follow_up_due__lt=timezone.localdate())
    elif follow_up == "at_risk":
        qs = qs.filter(at_risk_since__isnull=False)  # account_at_risk_idx (partial)
    _key, order = resolve_sort(sort, ACCOUNT_SORTS, ACCOUNT_DEFAULT_SORT)
    return qs.order_by(*order)


@dataclass
class AccountDetail:
    """What the account page shows besides the account itself."""

    account: Account
    contacts: list[Contact]
    more_contacts: bool
    events: list[AuditEvent]
    can_write: bool


def account_detail_context(user: User, account: Account) -> AccountDetail:
    """Contacts (first ``ACCOUNT_DETAIL_CONTACTS`` by name), timeline and write permission for
    an account the caller has already fetched through ``get_account_for_user``.

    The account's opportunities live in ``sales``; the page links to their filtered list.
    """
    contacts = list(account.contacts.order_by("name", "id")[: ACCOUNT_DETAIL_CONTACTS + 1])
    can_write = can_write_account(user, account)
    return AccountDetail(
        account=account,
        contacts=contacts[:ACCOUNT_DETAIL_CONTACTS],
        more_contacts=len(contacts) > ACCOUNT_DETAIL_CONTACTS,
        events=list(timeline_for(account, user=user, include_deleted=can_write)),
        can_write=can_write,
    )


def contact_list(
    user: User,
    *,
    q: str = "",
    account: int | None = None,
    buying_role: str = "",
    sort: str | None = None,
    owned: bool = False,
) -> QuerySet[Contact]:
    """Contacts of visible accounts matching the filters, with account and owner loaded.

    ``q`` searches the index (``search.selectors``): name, the account's name, email, mobile
    or phone (normalised) and WeChat id, all as substrings. ``owned``: only the contacts of
    accounts owned in the user's scope (a subset of the visible ones: the API's count floor).
    """
    rows = contacts_owned_by_scope(user) if owned else contacts_visible_to(user)
    qs = rows.select_related("account", "account__owner")
    qs = filter_by_search(qs, "contact", q)
    if account is not None:
        qs = qs.filter(account_id=account)
    if buying_role:
        qs = qs.filter(buying_role=buying_role)
    _key, order = resolve_sort(sort, CONTACT_SORTS, CONTACT_DEFAULT_SORT)
    return qs.order_by(*order)


def contact_detail_events(contact: Contact, user: User | None = None) -> list[AuditEvent]:
    """The contact's timeline (one query), limited to events ``user`` may see."""
    return list(timeline_for(contact, user=user))


def follow_up_policy_for(grade: str) -> FollowUpPolicy | None:
    """The follow-up frequency of ``grade`` (issue 7), ``None`` without a grade or policy."""
    return FollowUpPolicy.objects.filter(grade=grade).first() if grade else None


def follow_up_policies() -> list[FollowUpPolicy]:
    return list(FollowUpPolicy.objects.order_by("grade"))
