"""Access functions for accounts and contacts, built on :mod:`salesflow.users.policy`.

An account is readable when its owner is in the reader's scope, when it is unowned and the
reader may see it (a member of its public pool, or a manager when it is in no pool — see
``users.policy.unowned_q``), when it is shared with them, or when they may read a deal, lead
or activity linked to it (access follows the work, read-only). A contact is readable when
its account is; it is writable when its account is. Unseen → 404; seen but not writable → 403.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.core.errors import Forbidden
from salesflow.parties.models import Account, Contact
from salesflow.users.choices import Role
from salesflow.users.models import User
from salesflow.users.permissions import visible_owner_ids
from salesflow.users.policy import in_rows, narrow_visible_ids, owned_or_shared_q, wide_scope, work_links_q


def accounts_owned_or_shared(user: User) -> QuerySet[Account]:
    """Accounts in the user's scope or shared with them, without those reached through work.

    Activities use this (not :func:`accounts_visible_to`) so the two kinds do not define
    each other.
    """
    cond = owned_or_shared_q(user, Account)
    qs = Account.objects.all()
    return qs if cond is None else qs.filter(cond)


def accounts_owned_by_scope(user: User) -> QuerySet[Account]:
    """Accounts whose owner is in the user's scope: a subset of :func:`accounts_visible_to`
    answered from the owner index alone (the API's count floor, ``core.keyset.api_page``)."""
    ids = visible_owner_ids(user)
    qs = Account.objects.all()
    return qs if ids is None else qs.filter(owner_id__in=ids)


def accounts_visible_to(user: User, *, probe: bool = False) -> QuerySet[Account]:
    """Every account ``user`` may see (the one visibility rule for lists, search, counts, API).

    Two spellings of the same rows (``users.policy``): owned or shared ``OR`` one
    correlated ``EXISTS`` per work link, probed per account — for a wide scope (a
    department manager, whose lists find their rows early in the sort index) and for
    ``probe`` (testing given ids: detail pages, search hits, timeline events); and for a
    narrow scope (a rep) ``id IN (UNION of index lookups)``, so a list starts from the
    rep's thousand-odd accounts instead of walking the whole sort index.
    """
    cond = owned_or_shared_q(user, Account, unowned=True)
    qs = Account.objects.all()
    if cond is None:
        return qs
    if probe or wide_scope(user):
        return qs.filter(cond | work_links_q(user, Account))
    # an array (``users.policy.AnyOf``): PostgreSQL then looks the ids up in the primary
    # key; as ``IN (UNION …)`` it overestimated the union (the rep's activities before
    # duplicates go) and hash-joined a scan of every account
    return qs.filter(in_rows("pk", narrow_visible_ids(user, Account, unowned=True)))


def accounts_probe(user: User) -> QuerySet[Account]:
    """:func:`accounts_visible_to` in its form for testing given ids (``core.visibility``)."""
    return accounts_visible_to(user, probe=True)


def accounts_writable_by(user: User) -> QuerySet[Account]:
    """Accounts ``user`` may change: owner in the writable scope, or shared read-write."""
    cond = owned_or_shared_q(user, Account, write=True, unowned=True)
    qs = Account.objects.all()
    return qs if cond is None else qs.filter(cond)


def can_write_account(user: User, account: Account) -> bool:
    return accounts_writable_by(user).filter(pk=account.pk).exists()


def can_manage_account(user: User, account: Account) -> bool:
    """Delete or reassign: only through ownership scope, never through a share."""
    cond = owned_or_shared_q(user, Account, write=True, shareable=False, unowned=True)
    return cond is None or Account.objects.filter(cond, pk=account.pk).exists()


def may_reassign_for_neglect(user: User, account: Account, *, manages: bool | None = None) -> bool:
    """Issue 7: a sales manager or an administrator holding the account through ownership
    scope (never its rep, an assistant or support) may reassign it for neglect.

    ``manages`` is :func:`can_manage_account` when the caller already has it (saves a query)."""
    from salesflow.users.choices import Role

    return (
        (user.is_admin or user.role == Role.MANAGER)
        and user.pk != account.owner_id
        and (can_manage_account(user, account) if manages is None else manages)
    )


def get_account_for_user(user: User, pk: object, *, write: bool = False) -> Account:
    """The account ``pk`` if visible (else ``Http404``); with ``write`` also writable (else ``Forbidden``)."""
    try:
        account = accounts_visible_to(user, probe=True).select_related("owner", "region").get(pk=int(str(pk)))
    except (Account.DoesNotExist, ValueError):
        raise Http404("account not found") from None
    if write and not can_write_account(user, account):
        raise Forbidden(_("You may not change this account."))
    return account


def contacts_owned_by_scope(user: User) -> QuerySet[Contact]:
    """Contacts of the accounts owned in the user's scope: a subset of
    :func:`contacts_visible_to` (the API's count floor, ``core.keyset.api_page``)."""
    ids = visible_owner_ids(user)
    qs = Contact.objects.all()
    return qs if ids is None else qs.filter(account__owner_id__in=ids)


def contacts_visible_to(user: User, *, probe: bool = False) -> QuerySet[Contact]:
    """Contacts of visible accounts (including accounts reached through the work).

    ``probe``: the form for testing given contacts (see :func:`accounts_visible_to`).
    """
    qs = Contact.objects.all()
    if visible_owner_ids(user) is None:
        return qs
    if probe or wide_scope(user):
        # per contact read, one probe of its account (collecting a department's visible
        # accounts first would test every account of the database)
        return qs.filter(Exists(accounts_visible_to(user, probe=True).filter(pk=OuterRef("account_id"))))
    return qs.filter(account_id__in=accounts_visible_to(user).values("pk"))


def contacts_probe(user: User) -> QuerySet[Contact]:
    """:func:`contacts_visible_to` in its form for testing given ids (``core.visibility``)."""
    return contacts_visible_to(user, probe=True)


def contacts_writable_by(user: User) -> QuerySet[Contact]:
    qs = Contact.objects.all()
    cond = owned_or_shared_q(user, Account, path="account", write=True)
    return qs if cond is None else qs.filter(cond)


def can_write_contact(user: User, contact: Contact) -> bool:
    return can_write_account(user, contact.account)


def get_contact_for_user(user: User, pk: object, *, write: bool = False) -> Contact:
    """The contact ``pk`` if its account is visible (else ``Http404``); ``write`` → writable or ``Forbidden``."""
    try:
        contact = contacts_visible_to(user, probe=True).select_related("account", "account__owner").get(pk=int(str(pk)))
    except (Contact.DoesNotExist, ValueError):
        raise Http404("contact not found") from None
    if write and not can_write_contact(user, contact):
        raise Forbidden(_("You may not change this contact."))
    return contact


#: the contact's sales archive (销售档案): personal data under field-level protection
ARCHIVE_FIELDS: tuple[str, ...] = (
    "birthday",
    "hobbies",
    "education",
    "achievements",
    "places",
    "family",
    "cultural_background",
)


def may_hold_personal_data(user: User) -> bool:
    """Whether ``user`` reads the archive of at least some contacts (support never does)."""
    return user.is_authenticated and (user.is_admin or user.role != Role.SUPPORT or visible_owner_ids(user) is None)


def redact_personal_data(user: User, contacts: list[Contact]) -> list[Contact]:
    """Blank (``None``) the archive fields of the contacts ``user`` may not read, in place.

    The API answers ``null`` for a hidden field rather than leaving it out, so the shape
    of a contact never depends on who asks. The objects must not be saved afterwards.
    """
    for contact in contacts:
        if not can_read_personal_data(user, contact):
            for name in ARCHIVE_FIELDS:
                setattr(contact, name, None)
    return contacts


def can_read_personal_data(user: User, contact: Contact) -> bool:
    """Field-level rule for the contact's sales archive (birthday, family, hobbies…).

    Readable by the account's owner, the managers above that owner, administrators (and
    the system actor), and users holding ``can_view_personal_data`` who can see the
    contact. Support never reads it, whatever flag they hold. Sharing and access that
    follows the work do not open it.
    """
    if not user.is_authenticated or (user.role == Role.SUPPORT and not user.is_admin):
        return False
    ids = visible_owner_ids(user)
    if ids is None:
        return True
    owner_id = contact.account.owner_id
    if owner_id == user.pk:
        return True
    if user.role == Role.MANAGER and owner_id in ids:
        return True
    return user.can_view_personal_data and user.is_active


def personal_data_q(user: User) -> Q | None:
    """Contacts whose archive ``user`` may read, as a filter (``None``: all of them)."""
    if user.role == Role.SUPPORT and not user.is_admin:
        return Q(pk__in=[])
    ids = visible_owner_ids(user)
    if ids is None or user.can_view_personal_data:
        return None
    if user.role == Role.MANAGER:
        return Q(account__owner_id__in=ids)
    return Q(account__owner_id=user.pk)
