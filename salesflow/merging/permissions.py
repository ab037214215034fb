"""Who may see, change and merge which duplicate: the record apps' visibility policy,
answered per kind (``lead``, ``account``, ``contact``)."""

from __future__ import annotations

from typing import Any, cast

from django.db import models
from django.db.models import QuerySet

from salesflow.leads.models import Lead
from salesflow.leads.permissions import can_manage_lead, leads_visible_to, leads_writable_by
from salesflow.leads.services import EDITABLE_FIELDS
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import (
    ARCHIVE_FIELDS,
    accounts_visible_to,
    accounts_writable_by,
    can_manage_account,
    can_read_personal_data,
    contacts_visible_to,
    contacts_writable_by,
)
from salesflow.parties.services import ACCOUNT_FIELDS, CONTACT_FIELDS
from salesflow.users.models import User

MODELS: dict[str, type[models.Model]] = {"lead": Lead, "account": Account, "contact": Contact}


def record_owner_id(kind: str, record: models.Model) -> int | None:
    """The owner of a lead or account; a contact's is its account's."""
    if kind == "contact":
        return cast(Contact, record).account.owner_id
    return cast(int | None, getattr(record, "owner_id", None))


def visible_records(actor: User, kind: str) -> QuerySet[Any]:
    """The records of ``kind`` the actor may see."""
    if kind == "lead":
        return leads_visible_to(actor)
    if kind == "account":
        return accounts_visible_to(actor)
    return contacts_visible_to(actor)


def writable_records(actor: User, kind: str) -> QuerySet[Any]:
    """The records of ``kind`` the actor may change."""
    if kind == "lead":
        return leads_writable_by(actor)
    if kind == "account":
        return accounts_writable_by(actor)
    return contacts_writable_by(actor)


def can_read(actor: User, kind: str, pk: int) -> bool:
    return visible_records(actor, kind).filter(pk=pk).exists()


def can_write(actor: User, kind: str, pk: int) -> bool:
    return writable_records(actor, kind).filter(pk=pk).exists()


def can_manage(actor: User, kind: str, record: models.Model) -> bool:
    """Merge needs what delete needs: the record through ownership scope, not a share."""
    if kind == "lead":
        return can_manage_lead(actor, cast(Lead, record))
    if kind == "account":
        return can_manage_account(actor, cast(Account, record))
    return can_manage_account(actor, cast(Contact, record).account)


def merge_fields(actor: User, kind: str, a: models.Model, b: models.Model) -> list[str]:
    """The fields a merge may take from either record, in the model's order. A contact's
    sales archive only when ``actor`` may read both archives."""
    allowed: frozenset[str] = {"lead": EDITABLE_FIELDS, "account": ACCOUNT_FIELDS, "contact": CONTACT_FIELDS}[kind]
    if kind == "contact" and not (
        can_read_personal_data(actor, cast(Contact, a)) and can_read_personal_data(actor, cast(Contact, b))
    ):
        allowed = allowed - frozenset(ARCHIVE_FIELDS)
    if kind == "contact":
        allowed = allowed - {"account"}  # contacts of different accounts are not merged
    model = MODELS[kind]
    return [f.name for f in model._meta.concrete_fields if f.name in allowed]
