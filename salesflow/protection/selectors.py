"""Reads of customer protection: known-customer lookups (indexed, constant queries), the
badges of flagged records, the arbiter of two reps, and collision rows with both records
side by side (only records the reader may see are shown)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Q, QuerySet

from salesflow.leads.models import Lead
from salesflow.leads.permissions import leads_visible_to
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import accounts_visible_to, contacts_visible_to
from salesflow.protection.choices import CollisionStatus
from salesflow.protection.models import Collision, KnownCustomer, KnownCustomerLoad, KnownCustomerMatch
from salesflow.protection.permissions import can_decide, collisions_decidable_by, collisions_visible_to
from salesflow.users.models import Team, User

_MODELS: dict[str, type[models.Model]] = {"lead": Lead, "account": Account, "contact": Contact}


def known_customer_for(credit_code: str, name_key: str) -> tuple[KnownCustomer, str] | None:
    """The known customer with this credit code, else this company matching key (most
    recently loaded first), with what matched (``credit_code`` / ``name``). At most two
    indexed queries."""
    base = KnownCustomer.objects.select_related("owner").order_by("-loaded_at", "-pk")
    if credit_code:
        found = base.filter(credit_code=credit_code).first()
        if found is not None:
            return found, "credit_code"
    if name_key:
        found = base.filter(name_key=name_key).first()
        if found is not None:
            return found, "name"
    return None


def known_customers_for(
    credit_codes: Sequence[str], name_keys: Sequence[str]
) -> dict[tuple[str, str], tuple[KnownCustomer, str]]:
    """:func:`known_customer_for` for many (credit code, name key) pairs (same positions in
    the two lists) in two queries: pair → (known customer, what matched); pairs without a
    match are absent."""
    base = KnownCustomer.objects.select_related("owner").order_by("-loaded_at", "-pk")
    by_code: dict[str, KnownCustomer] = {}
    by_name: dict[str, KnownCustomer] = {}
    codes = {c for c in credit_codes if c}
    names = {k for k in name_keys if k}
    if codes:
        for kc in base.filter(credit_code__in=codes):
            by_code.setdefault(kc.credit_code, kc)
    if names:
        for kc in base.filter(name_key__in=names):
            by_name.setdefault(kc.name_key, kc)
    out: dict[tuple[str, str], tuple[KnownCustomer, str]] = {}
    for code, key in zip(credit_codes, name_keys, strict=True):
        if code and code in by_code:
            out[(code, key)] = (by_code[code], "credit_code")
        elif key and key in by_name:
            out[(code, key)] = (by_name[key], "name")
    return out


def known_customers_search(q: str = "") -> QuerySet[KnownCustomer]:
    """The list (callers check ``can_manage_known_customers``), filtered by name, credit
    code, owner or sales office containing ``q``."""
    qs = KnownCustomer.objects.select_related("owner", "batch").order_by("company_name", "pk")
    q = (q or "").strip()
    if q:
        qs = qs.filter(
            Q(company_name__icontains=q)
            | Q(credit_code__icontains=q)
            | Q(owner_name__icontains=q)
            | Q(sales_office__icontains=q)
        )
    return qs


def recent_loads(limit: int = 10) -> list[KnownCustomerLoad]:
    """The latest list loads with their summaries (rows to load deferred)."""
    return list(KnownCustomerLoad.objects.defer("rows").select_related("created_by")[:limit])


def known_customer_flags(kind: str, ids: Iterable[int]) -> dict[int, KnownCustomer]:
    """record id → the known customer it matched, for the given leads or accounts (one query)."""
    wanted = [pk for pk in ids if pk]
    if not wanted:
        return {}
    result: dict[int, KnownCustomer] = {}
    for match in (
        KnownCustomerMatch.objects.filter(record_kind=kind, record_id__in=wanted)
        .select_related("known_customer", "known_customer__owner")
        .order_by("-created_at", "-pk")
    ):
        result.setdefault(int(match.record_id), match.known_customer)
    return result


def arbiter_for(claimant: User, holder: User) -> User | None:
    """The lowest active manager whose team subtree holds both reps' teams and who is not
    one of them; ``None`` (any administrator decides) when there is none. Two queries."""
    if claimant.team_id is None or holder.team_id is None:
        return None
    teams = {row["pk"]: row for row in Team.objects.values("pk", "parent_id", "manager_id")}

    def chain(team_id: int | None) -> list[int]:
        out: list[int] = []
        while team_id is not None and team_id in teams and team_id not in out:
            out.append(team_id)
            team_id = teams[team_id]["parent_id"]
        return out

    above_holder = set(chain(holder.team_id))
    common = [pk for pk in chain(claimant.team_id) if pk in above_holder]
    manager_ids = [
        teams[pk]["manager_id"]
        for pk in common
        if teams[pk]["manager_id"] is not None and teams[pk]["manager_id"] not in (claimant.pk, holder.pk)
    ]
    if not manager_ids:
        return None
    managers = {u.pk: u for u in User.objects.filter(pk__in=manager_ids, is_active=True)}
    for pk in manager_ids:
        if pk in managers:
            return managers[pk]
    return None


def arbiters_for(pairs: Iterable[tuple[User, User]]) -> dict[tuple[int, int], User | None]:
    """:func:`arbiter_for` of many ``(claimant, holder)`` pairs, keyed by their pks: the
    same answer per pair, with the teams read once and the managers in one query (two
    queries in all, none when no pair has two teams)."""
    todo = {(c.pk, h.pk): (c, h) for c, h in pairs}
    out: dict[tuple[int, int], User | None] = dict.fromkeys(todo)
    placed = {key: pair for key, pair in todo.items() if pair[0].team_id is not None and pair[1].team_id is not None}
    if not placed:
        return out
    teams = {row["pk"]: row for row in Team.objects.values("pk", "parent_id", "manager_id")}

    def chain(team_id: int | None) -> list[int]:
        found: list[int] = []
        while team_id is not None and team_id in teams and team_id not in found:
            found.append(team_id)
            team_id = teams[team_id]["parent_id"]
        return found

    wanted: dict[tuple[int, int], list[int]] = {}
    for key, (claimant, holder) in placed.items():
        above_holder = set(chain(holder.team_id))
        common = [pk for pk in chain(claimant.team_id) if pk in above_holder]
        wanted[key] = [
            teams[pk]["manager_id"]
            for pk in common
            if teams[pk]["manager_id"] is not None and teams[pk]["manager_id"] not in (claimant.pk, holder.pk)
        ]
    every = {pk for ids in wanted.values() for pk in ids}
    if not every:
        return out
    managers = {u.pk: u for u in User.objects.filter(pk__in=every, is_active=True)}
    for key, ids in wanted.items():
        out[key] = next((managers[pk] for pk in ids if pk in managers), None)
    return out


def existing_record_ids(kind: str, pks: Iterable[int]) -> set[int]:
    """Which of ``pks`` are still leads, accounts or contacts of ``kind`` (one query)."""
    model = _MODELS.get(kind)
    wanted = set(pks)
    if model is None or not wanted:
        return set()
    return set(model._default_manager.filter(pk__in=wanted).values_list("pk", flat=True))


def record_for(kind: str, pk: int) -> models.Model | None:
    """The lead, account or contact ``pk`` (no visibility filter: services use it)."""
    model = _MODELS.get(kind)
    if model is None:
        return None
    qs = model._default_manager.all()
    if kind == "contact":
        qs = qs.select_related("account")
    return qs.filter(pk=pk).first()


def _visible(user: User, kind: str, ids: Sequence[int]) -> dict[int, Any]:
    if not ids:
        return {}
    if kind == "lead":
        qs: QuerySet[Any] = leads_visible_to(user).select_related("owner")
    elif kind == "account":
        qs = accounts_visible_to(user).select_related("owner")
    else:
        qs = contacts_visible_to(user).select_related("account", "account__owner")
    return {obj.pk: obj for obj in qs.filter(pk__in=ids)}


@dataclass
class CollisionRow:
    """A collision with its two records (``None`` when gone or not visible to the reader)."""

    collision: Collision
    new_record: Any
    existing_record: Any
    may_decide: bool


def collision_rows(user: User, collisions: Sequence[Collision]) -> list[CollisionRow]:
    """Rows for the queue: each collision's records loaded in one query per kind, limited
    to the records ``user`` may see."""
    wanted: dict[str, set[int]] = {"lead": set(), "account": set(), "contact": set()}
    for c in collisions:
        wanted.setdefault(c.new_kind, set()).add(int(c.new_id))
        wanted.setdefault(c.existing_kind, set()).add(int(c.existing_id))
    loaded = {kind: _visible(user, kind, sorted(ids)) for kind, ids in wanted.items() if kind in _MODELS}
    return [
        CollisionRow(
            collision=c,
            new_record=loaded.get(c.new_kind, {}).get(int(c.new_id)),
            existing_record=loaded.get(c.existing_kind, {}).get(int(c.existing_id)),
            may_decide=can_decide(user, c),
        )
        for c in collisions
    ]


def collision_queue(user: User, *, scope: str = "decide", status: str = CollisionStatus.OPEN) -> QuerySet[Collision]:
    """``scope="decide"``: the collisions ``user`` may decide; ``"mine"``: those where they
    are claimant or holder; else everything they may read. Filtered by ``status`` ('' = all)."""
    if scope == "decide":
        qs = collisions_decidable_by(user)
    elif scope == "mine":
        qs = Collision.objects.filter(Q(claimant_id=user.pk) | Q(holder_id=user.pk))
    else:
        qs = collisions_visible_to(user)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("claimant", "holder", "arbiter", "decided_by").order_by("-created_at", "-id")
