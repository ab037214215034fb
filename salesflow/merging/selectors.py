"""Reads of the duplicates app: access requests to decide and asked, the merge screen's
field comparison and the merges of a record. Each function runs a bounded number of
queries whatever the data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from salesflow.merging.models import AccessRequest, AccessStatus, MergeRecord
from salesflow.merging.permissions import MODELS, merge_fields, visible_records
from salesflow.users.choices import Role
from salesflow.users.models import User
from salesflow.users.policy import unrestricted, writable_owner_ids


def matcher_values(kind: str, record: Any) -> dict[str, Any]:
    """An existing record's values as the matcher reads them."""
    values = {name: getattr(record, name, "") for name in ("name", "mobile", "email", "credit_code", "company_name")}
    if kind == "contact":
        values["account"] = record.account
    return values


def requests_to_decide(actor: User) -> QuerySet[AccessRequest]:
    """Access requests for records the actor decides on: their own records', a manager's
    team's, every one for an administrator. Newest first."""
    qs = AccessRequest.objects.select_related("requester", "owner", "decided_by")
    if unrestricted(actor):
        return qs
    cond = Q(owner_id=actor.pk)
    ids = writable_owner_ids(actor)
    if actor.role == Role.MANAGER and ids:
        cond |= Q(owner_id__in=ids)
    return qs.filter(cond)


def requests_made_by(actor: User) -> QuerySet[AccessRequest]:
    """The actor's own access requests, newest first."""
    return AccessRequest.objects.filter(requester=actor).select_related("owner", "decided_by")


def pending_count(actor: User) -> int:
    return requests_to_decide(actor).filter(status=AccessStatus.PENDING).count()


def record_for_user(actor: User, kind: str, pk: object) -> Any:
    """The record ``kind``/``pk`` if the actor may see it, else ``Http404`` (an unknown kind too)."""
    if kind not in MODELS:
        raise Http404("unknown kind")
    try:
        key = int(str(pk))
    except ValueError:
        raise Http404("bad id") from None
    qs = visible_records(actor, kind)
    qs = qs.select_related("account", "account__owner") if kind == "contact" else qs.select_related("owner", "region")
    record = qs.filter(pk=key).first()
    if record is None:
        raise Http404("record not found")
    return record


@dataclass(frozen=True)
class FieldRow:
    """One field of the merge screen: its label and both values, shown and compared."""

    name: str
    label: str
    a: str
    b: str
    differs: bool


def _shown(record: Any, name: str) -> str:
    display = getattr(record, f"get_{name}_display", None)
    value = display() if callable(display) else getattr(record, name)
    return "" if value is None else str(value)


def merge_rows(actor: User, kind: str, a: Any, b: Any) -> list[FieldRow]:
    """Every mergeable field of ``a`` and ``b`` (``differs``: the values are not the same).
    Foreign keys (owner, region) must be loaded with the records (``select_related``)."""
    model = MODELS[kind]
    rows: list[FieldRow] = []
    for name in merge_fields(actor, kind, a, b):
        field: Any = model._meta.get_field(name)
        va, vb = getattr(a, field.attname), getattr(b, field.attname)
        rows.append(FieldRow(name, str(field.verbose_name), _shown(a, name), _shown(b, name), va != vb))
    return rows


def merges_of(kind: str, pk: int) -> QuerySet[MergeRecord]:
    """Merges into (or of) the record, newest first."""
    return MergeRecord.objects.filter(Q(survivor_id=pk) | Q(loser_id=pk), kind=kind).select_related(
        "actor", "undone_by"
    )
