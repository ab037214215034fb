"""JSON API for accounts (``/api/v1/accounts``) and contacts (``/api/v1/contacts``).

Thin like the views: parse with a schema → access function → the same services as the UI.
Unseen records are 404, seen but read-only ones 403, refused deletes 409, bad input 400
with per-field errors (field names as in the request body, e.g. ``owner_id``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.core.bulk import BulkOut, filter_query, run_bulk_api
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.keyset import api_page
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import (
    accounts_visible_to,
    contacts_visible_to,
    get_account_for_user,
    get_contact_for_user,
    redact_personal_data,
)
from salesflow.parties.schemas import (
    OPTIONAL_CHOICES,
    AccountBulkIn,
    AccountFilters,
    AccountIn,
    AccountListOut,
    AccountOut,
    AccountPatch,
    ContactBulkIn,
    ContactFilters,
    ContactIn,
    ContactListOut,
    ContactOut,
    ContactPatch,
    ErrorOut,
    NeglectReassignIn,
)
from salesflow.parties.selectors import account_list, contact_list
from salesflow.parties.services import (
    AccountChanges,
    ContactChanges,
    account_create,
    account_delete,
    account_reassign,
    account_reassign_for_neglect,
    account_update,
    contact_create,
    contact_delete,
    contact_update,
)
from salesflow.tags.selectors import tag_step
from salesflow.tags.services import tag_bulk_action
from salesflow.users.models import Territory, User
from salesflow.users.permissions import assignable_owner, assignable_users_for, writable_owner_ids
from salesflow.users.policy import unrestricted

accounts_router = Router(tags=["accounts"])
contacts_router = Router(tags=["contacts"])

ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}
SAVE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}  # issue 8: 409 possible_duplicates


def _duplicate_options(data: dict[str, Any]) -> dict[str, Any]:
    """Issue 8: ``duplicate_reason`` (save past the duplicate warning) as an intake option."""
    reason = data.pop("duplicate_reason", None)
    return {"duplicate_reason": reason} if reason else {}


# service field names → request body field names
_BODY_NAMES = {"owner": "owner_id", "region": "region_id", "account": "account_id"}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@contextmanager
def _body_field_names() -> Iterator[None]:
    """Report a service's field errors under the names the client sent."""
    try:
        yield
    except ValidationFailed as exc:
        exc.field_errors = {_BODY_NAMES.get(k, k): v for k, v in exc.field_errors.items()}
        raise


def _invalid(field: str, message: str, what: str) -> ValidationFailed:
    return ValidationFailed(what, field_errors={field: [message]})


def _region(region_id: int | None, what: str) -> Territory | None:
    if region_id is None:
        return None
    region = Territory.objects.filter(pk=region_id).first()
    if region is None:
        raise _invalid("region_id", _("Select a valid region."), what)
    return region


def _require_create_right(user: User, message: str) -> None:
    ids = writable_owner_ids(user)
    if ids is not None and not ids:
        raise Forbidden(message)


def _writable_account(user: User, account_id: int, what: str) -> Account:
    """An account from the request body: unseen → 400 on ``account_id``; read-only → 403."""
    try:
        return get_account_for_user(user, account_id, write=True)
    except Http404:
        raise _invalid("account_id", _("Select a valid account."), what) from None


def _choices_blank(data: dict[str, Any]) -> dict[str, Any]:
    """Optional choices arrive as ``None`` for "not set"; the models store ``""``."""
    return {k: ("" if k in OPTIONAL_CHOICES and v is None else v) for k, v in data.items()}


def _paged(qs: Any, filters: AccountFilters | ContactFilters, *, floor: Any = None) -> dict[str, Any]:
    """The page of ``qs``; ``floor``: the same filters over the rows owned in the reader's
    scope, which settles a count above the cap without the visibility probes (``api_page``)."""
    return api_page(qs, cursor=filters.cursor, limit=filters.limit, offset=filters.offset, floor=floor)


# --- accounts --------------------------------------------------------------------------------------


@accounts_router.get("", response=AccountListOut, summary="List visible accounts")
@accounts_router.get("/", response=AccountListOut, include_in_schema=False)
def list_accounts(request: HttpRequest, filters: Query[AccountFilters]) -> dict[str, Any]:
    user = _user(request)

    def rows(*, owned: bool = False) -> QuerySet[Account]:
        qs = account_list(
            user,
            q=filters.q,
            lifecycle=filters.lifecycle or "",
            grade=filters.grade or "",
            industry=filters.industry or "",
            region=filters.region_id,
            owner=filters.owner_id,
            follow_up=filters.follow_up or "",
            sort=filters.sort,
            owned=owned,
        )
        return tag_step(qs, filters.tag_id)

    return _paged(rows(), filters, floor=None if unrestricted(user) else rows(owned=True))


@accounts_router.get("/{int:account_id}", response={200: AccountOut, **SAVE_ERRORS}, summary="One account")
def get_account(request: HttpRequest, account_id: int) -> Account:
    return get_account_for_user(_user(request), account_id)


@accounts_router.post("", response={201: AccountOut, **SAVE_ERRORS}, summary="Create an account")
@accounts_router.post("/", response={201: AccountOut, **SAVE_ERRORS}, include_in_schema=False)
def create_account(request: HttpRequest, payload: AccountIn) -> tuple[int, Account]:
    user = _user(request)
    what = _("The account could not be saved.")
    _require_create_right(user, _("You may not create accounts."))
    owner = user
    if payload.owner_id is not None:
        chosen = assignable_users_for(user).filter(pk=payload.owner_id).first()
        if chosen is None:
            raise _invalid("owner_id", _("You may not assign records to this user."), what)
        owner = chosen
    region = _region(payload.region_id, what)
    data = _choices_blank(payload.dict(exclude={"owner_id", "region_id"}))
    options = _duplicate_options(data)
    with _body_field_names():
        account = account_create(actor=user, owner=owner, region=region, intake_options=options, **data)
    return 201, account


@accounts_router.patch(
    "/{int:account_id}", response={200: AccountOut, **SAVE_ERRORS}, summary="Change some fields of an account"
)
def update_account(request: HttpRequest, account_id: int, payload: AccountPatch) -> Account:
    user = _user(request)
    account = get_account_for_user(user, account_id, write=True)
    what = _("The account could not be saved.")
    data = _choices_blank(payload.dict(exclude_unset=True))
    options = _duplicate_options(data)
    changes: dict[str, Any] = {k: v for k, v in data.items() if k not in ("owner_id", "region_id")}
    if "region_id" in data:
        changes["region"] = _region(data["region_id"], what)
    if "owner_id" in data:
        owner = User.objects.filter(pk=data["owner_id"], is_active=True).first()
        if owner is None:
            raise _invalid("owner_id", _("You may not assign records to this user."), what)
        changes["owner"] = owner
    with _body_field_names():
        return account_update(actor=user, account=account, intake_options=options, **cast(AccountChanges, changes))


@accounts_router.delete(
    "/{int:account_id}", response={204: None, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}, summary="Delete an account"
)
def delete_account(request: HttpRequest, account_id: int) -> tuple[int, None]:
    user = _user(request)
    account = get_account_for_user(user, account_id, write=True)
    account_delete(actor=user, account=account)
    return 204, None


# --- contacts --------------------------------------------------------------------------------------


@contacts_router.get("", response=ContactListOut, summary="List contacts of visible accounts")
@contacts_router.get("/", response=ContactListOut, include_in_schema=False)
def list_contacts(request: HttpRequest, filters: Query[ContactFilters]) -> dict[str, Any]:
    user = _user(request)

    def rows(*, owned: bool = False) -> QuerySet[Contact]:
        qs = contact_list(
            user,
            q=filters.q,
            account=filters.account_id,
            buying_role=filters.buying_role or "",
            sort=filters.sort,
            owned=owned,
        )
        return tag_step(qs, filters.tag_id)

    page = _paged(rows(), filters, floor=None if unrestricted(user) else rows(owned=True))
    redact_personal_data(_user(request), page["items"])
    return page


@contacts_router.get(
    "/{int:contact_id}",
    response={200: ContactOut, **SAVE_ERRORS},
    summary="One contact with the sales archive",
    description="Sales archive fields are null for readers who may not see personal data.",
)
def get_contact(request: HttpRequest, contact_id: int) -> Contact:
    user = _user(request)
    return redact_personal_data(user, [get_contact_for_user(user, contact_id)])[0]


@contacts_router.post("", response={201: ContactOut, **SAVE_ERRORS}, summary="Create a contact")
@contacts_router.post("/", response={201: ContactOut, **SAVE_ERRORS}, include_in_schema=False)
def create_contact(request: HttpRequest, payload: ContactIn) -> tuple[int, Contact]:
    user = _user(request)
    what = _("The contact could not be saved.")
    _require_create_right(user, _("You may not create contacts."))
    account = _writable_account(user, payload.account_id, what)
    data = payload.dict(exclude={"account_id"})
    options = _duplicate_options(data)
    with _body_field_names():
        contact = contact_create(actor=user, account=account, intake_options=options, **data)
    return 201, redact_personal_data(user, [contact])[0]


@contacts_router.patch(
    "/{int:contact_id}", response={200: ContactOut, **SAVE_ERRORS}, summary="Change some fields of a contact"
)
def update_contact(request: HttpRequest, contact_id: int, payload: ContactPatch) -> Contact:
    user = _user(request)
    contact = get_contact_for_user(user, contact_id, write=True)
    what = _("The contact could not be saved.")
    data: dict[str, Any] = payload.dict(exclude_unset=True)
    options = _duplicate_options(data)
    changes: dict[str, Any] = {k: v for k, v in data.items() if k != "account_id"}
    if "account_id" in data:
        changes["account"] = _writable_account(user, data["account_id"], what)
    with _body_field_names():
        updated = contact_update(actor=user, contact=contact, intake_options=options, **cast(ContactChanges, changes))
    return redact_personal_data(user, [updated])[0]


@contacts_router.delete(
    "/{int:contact_id}", response={204: None, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}, summary="Delete a contact"
)
def delete_contact(request: HttpRequest, contact_id: int) -> tuple[int, None]:
    user = _user(request)
    contact = get_contact_for_user(user, contact_id, write=True)
    contact_delete(actor=user, contact=contact)
    return 204, None


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


def _accounts_matching(user: User, data: dict[str, Any]) -> Any:
    filters = filter_query(AccountFilters, data)
    qs = account_list(
        user,
        q=filters.q,
        lifecycle=filters.lifecycle or "",
        grade=filters.grade or "",
        industry=filters.industry or "",
        region=filters.region_id,
        owner=filters.owner_id,
        follow_up=filters.follow_up or "",
    )
    return tag_step(qs, filters.tag_id)


def _contacts_matching(user: User, data: dict[str, Any]) -> Any:
    filters = filter_query(ContactFilters, data)
    qs = contact_list(user, q=filters.q, account=filters.account_id, buying_role=filters.buying_role or "")
    return tag_step(qs, filters.tag_id)


@accounts_router.post("/bulk", response={200: BulkOut, **ERRORS}, summary="One action on many accounts")
def bulk_accounts(request: HttpRequest, payload: AccountBulkIn) -> dict[str, Any]:
    """``assign`` (with ``follow``: the open deals too), ``tag_add``, ``tag_remove`` or ``delete``
    on the given ``ids`` or on every account matching ``filter``; each record through its
    service in its own savepoint. Returns how many succeeded and why each other failed."""
    user = _user(request)

    def action() -> Any:
        tagging = tag_bulk_action(actor=user, action=payload.action, tag_id=payload.tag_id)
        if tagging is not None:
            return tagging
        if payload.action == "assign":
            owner = assignable_owner(user, payload.owner_id)
            return lambda a: account_reassign(actor=user, account=a, owner=owner, follow=payload.follow)
        return lambda a: account_delete(actor=user, account=a)

    return run_bulk_api(
        payload, visible=accounts_visible_to(user), matching=lambda d: _accounts_matching(user, d), action=action
    )


@contacts_router.post("/bulk", response={200: BulkOut, **ERRORS}, summary="One action on many contacts")
def bulk_contacts(request: HttpRequest, payload: ContactBulkIn) -> dict[str, Any]:
    """``tag_add``, ``tag_remove`` or ``delete`` on the given ``ids`` or every contact
    matching ``filter``. Returns how many succeeded and why each other failed."""
    user = _user(request)

    def action() -> Any:
        tagging = tag_bulk_action(actor=user, action=payload.action, tag_id=payload.tag_id)
        if tagging is not None:
            return tagging
        return lambda c: contact_delete(actor=user, contact=c)

    return run_bulk_api(
        payload, visible=contacts_visible_to(user), matching=lambda d: _contacts_matching(user, d), action=action
    )


# --- follow-up discipline (issue 7) ------------------------------------------------------------


@accounts_router.post(
    "/{int:account_id}/reassign-for-neglect",
    response={200: AccountOut, **SAVE_ERRORS},
    summary="A manager reassigns a neglected account (with a reason)",
)
def reassign_for_neglect(request: HttpRequest, account_id: int, payload: NeglectReassignIn) -> Account:
    """Sales managers and administrators holding the account (403 otherwise); the account's
    open deals follow. 400 naming ``owner_id`` or ``reason``. Audited with the reason."""
    user = _user(request)
    account = get_account_for_user(user, account_id)
    owner = User.objects.filter(pk=payload.owner_id, is_active=True).first()
    if owner is None:
        raise ValidationFailed(
            _("The account could not be reassigned."), field_errors={"owner_id": [_("Unknown user.")]}
        )
    try:
        account_reassign_for_neglect(actor=user, account=account, owner=owner, reason=payload.reason)
    except ValidationFailed as exc:
        exc.field_errors = {("owner_id" if k == "owner" else k): v for k, v in exc.field_errors.items()}
        raise
    return get_account_for_user(user, account.pk)
