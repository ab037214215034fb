"""Writes of customer protection: loading known-customer lists, the two intake checks
(``known_customer``, order 10; ``collision``, order 20) and deciding collisions.

Guarantees:

- A list load is idempotent per ``(source_system, external_id)``: loading the same rows
  again updates them (``updated``), never duplicates them. Bad rows are rejected with their
  row number and reason; good rows are loaded. Only administrators load lists.
- ``check_known_customer`` matches a lead or account by credit code, then by company
  matching key (two indexed queries at most). A lead created or imported for someone else
  is routed to the known customer's owner; otherwise the record is refused with
  ``Conflict(code="known_customer")`` naming the owner and sales office. Administrators
  and the customer's owner are never blocked. Matches are stored (``KnownCustomerMatch``).
- ``check_collision`` never blocks a save: it opens a ``Collision`` in the same
  transaction when a strong duplicate is owned by another rep.
- ``collision_decide`` is all or nothing: the reassignment or share goes through the
  record services (which check assignability), and the decision is audited on both
  records' timelines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from salesflow.core.audit import record_event, record_events
from salesflow.core.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from salesflow.core.intake import Intake
from salesflow.core.normalize import (
    company_name_key,
    credit_code_is_valid,
    normalize_credit_code,
    normalize_phone,
)
from salesflow.core.phrases import Phrase, stored_phrase
from salesflow.core.tasks import enqueue_on_commit
from salesflow.dedupe.matching import Candidate, find_candidates, find_candidates_bulk
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_update
from salesflow.parties.models import Account, Contact
from salesflow.parties.services import account_reassign
from salesflow.protection.choices import CollisionStatus, Decision, LoadStatus, TransferDirection
from salesflow.protection.listfiles import LIST_FIELDS, MAX_ROWS
from salesflow.protection.models import (
    COMPANY_NAME_LENGTH,
    EXTERNAL_ID_LENGTH,
    NAME_KEY_LENGTH,
    NOTE_LENGTH,
    SOURCE_LENGTH,
    Collision,
    KnownCustomer,
    KnownCustomerLoad,
    KnownCustomerMatch,
)
from salesflow.protection.permissions import can_decide, can_manage_known_customers, collisions_visible_to
from salesflow.protection.selectors import (
    arbiter_for,
    arbiters_for,
    existing_record_ids,
    known_customer_for,
    known_customers_for,
    record_for,
)
from salesflow.users.models import ShareAccess, User
from salesflow.users.permissions import is_system_actor
from salesflow.users.services import share_grant

#: a list of at most this many rows is loaded in the request; larger ones in a task
INLINE_ROWS = 500
#: candidates at or above this score are a collision when another rep owns them
STRONG_SCORE = 0.85
#: at most this many collisions are opened for one incoming record (one per other rep)
MAX_COLLISIONS_PER_RECORD = 3
_CHUNK = 1000
_TEXT_LIMITS = {"phone": 40, "contact_name": 100, "owner": 100, "sales_office": 100}
_DECIDED_REASON = "collision decision"


# --- known-customer list ------------------------------------------------------------------


def _require_list_admin(actor: User) -> None:
    if not can_manage_known_customers(actor):
        raise Forbidden(_("Only administrators load known-customer lists."))


def known_customers_load(
    *, actor: User, source_system: str, rows: Sequence[Mapping[str, Any]], file_name: str = ""
) -> KnownCustomerLoad:
    """Start loading ``rows`` (dicts keyed by ``LIST_FIELDS``) as the list of ``source_system``.

    Up to :data:`INLINE_ROWS` rows are loaded at once (the returned load is ``done`` with its
    summary); larger lists are stored and loaded by a background task after commit (the load
    is ``queued``). Raises ``Forbidden`` for anyone but administrators, ``ValidationFailed``
    (nothing written) for a blank or over-long source, no rows, more than ``MAX_ROWS`` rows,
    or a row with unknown fields.
    """
    _require_list_admin(actor)
    source = (source_system or "").strip()
    errors: dict[str, list[str]] = {}
    if not source:
        errors["source_system"] = [_("This field is required.")]
    elif len(source) > SOURCE_LENGTH or "\x00" in source:
        errors["source_system"] = [_("Use at most %(max)d characters.") % {"max": SOURCE_LENGTH}]
    if not rows:
        errors["rows"] = [_("The list has no rows.")]
    elif len(rows) > MAX_ROWS:
        errors["rows"] = [_("The list has more than %(max)d rows.") % {"max": MAX_ROWS}]
    else:
        for number, row in enumerate(rows, start=1):
            unknown = sorted(set(row) - set(LIST_FIELDS))
            if unknown:
                errors["rows"] = [
                    _("Row %(row)d has unknown fields: %(fields)s.") % {"row": number, "fields": ", ".join(unknown)}
                ]
                break
    if errors:
        raise ValidationFailed(_("The list could not be loaded."), field_errors=errors)
    stored = [_storable(row) for row in rows]
    with transaction.atomic():
        load = KnownCustomerLoad.objects.create(
            source_system=source,
            file_name=(file_name or "")[:255].replace("\x00", ""),
            created_by=actor if actor.pk and not is_system_actor(actor) else None,
            rows=stored,
            total=len(stored),
        )
        if len(stored) > INLINE_ROWS:
            from salesflow.protection.tasks import run_known_customer_load

            enqueue_on_commit(run_known_customer_load, load.pk)
            return load
    done = known_customers_load_run(load_id=load.pk, actor=actor)
    return done if done is not None else load


_NUL_MARK = "__nul__"


def _storable(row: Mapping[str, Any]) -> dict[str, str]:
    """The row's fields as text for the JSON column. A NUL byte (which PostgreSQL's JSON
    refuses) is dropped and the field is marked, so the row is rejected when loaded."""
    out: dict[str, str] = {}
    for key in LIST_FIELDS:
        value = "" if row.get(key) is None else str(row.get(key))
        if "\x00" in value:
            out.setdefault(_NUL_MARK, key)
            value = value.replace("\x00", "")
        out[key] = value
    return out


@dataclass
class _Row:
    number: int
    values: dict[str, Any]


def _clean_row(number: int, raw: Mapping[str, str], errors: list[dict[str, Any]]) -> _Row | None:
    def reject(field: str, reason: str) -> None:
        errors.append({"row": number, "field": field, "reason": reason})

    if raw.get(_NUL_MARK):
        reject(str(raw[_NUL_MARK]), _("The value contains a NUL character."))
        return None
    values = {key: (raw.get(key) or "").strip() for key in LIST_FIELDS}
    name = values["company_name"]
    if not name:
        reject("company_name", _("The customer name is required."))
        return None
    if len(name) > COMPANY_NAME_LENGTH:
        reject("company_name", _("Use at most %(max)d characters.") % {"max": COMPANY_NAME_LENGTH})
        return None
    for key, limit in _TEXT_LIMITS.items():
        if len(values[key]) > limit:
            reject(key, _("Use at most %(max)d characters.") % {"max": limit})
            return None
    code = normalize_credit_code(values["credit_code"])
    if code and not credit_code_is_valid(code):
        reject("credit_code", _("Enter a valid 18-character unified social credit code."))
        return None
    key = company_name_key(name)[:NAME_KEY_LENGTH]
    if not key and not code:
        reject("company_name", _("The customer name has nothing to match on."))
        return None
    external = values["external_id"] or (f"code:{code}" if code else f"name:{key}")
    if len(external) > EXTERNAL_ID_LENGTH:
        reject("external_id", _("Use at most %(max)d characters.") % {"max": EXTERNAL_ID_LENGTH})
        return None
    values.update(credit_code=code, name_key=key, external_id=external, phone=normalize_phone(values["phone"]))
    return _Row(number, values)


def _owners_by_text(texts: set[str]) -> dict[str, User]:
    """Active users named by username, else by display name (a display name two users
    share matches nobody). One query."""
    if not texts:
        return {}
    found: dict[str, User] = {}
    by_display: dict[str, list[User]] = {}
    for user in User.objects.filter(
        models.Q(username__in=texts) | models.Q(display_name__in=texts), is_active=True
    ).order_by("pk"):
        if is_system_actor(user):
            continue
        if user.username in texts:
            found[user.username] = user
        if user.display_name in texts:
            by_display.setdefault(user.display_name, []).append(user)
    for name, users in by_display.items():
        if name not in found and len(users) == 1:
            found[name] = users[0]
    return found


def known_customers_load_run(*, load_id: int, actor: User | None = None) -> KnownCustomerLoad | None:
    """Load the stored rows of load ``load_id`` (the task's body; idempotent: a load already
    done or failed is returned untouched). Valid rows are created or updated by
    ``(source_system, external_id)``; invalid rows (and a row repeating an earlier row's
    external id) are rejected with their number, field and reason. Audits
    ``protection.list.loaded``. Returns ``None`` for an unknown id."""
    with transaction.atomic():
        load = KnownCustomerLoad.objects.select_for_update().filter(pk=load_id).first()
        if load is None or load.status in (LoadStatus.DONE, LoadStatus.FAILED):
            return load
        errors: list[dict[str, Any]] = []
        cleaned: dict[str, _Row] = {}
        for number, raw in enumerate(load.rows or [], start=1):
            row = _clean_row(number, raw if isinstance(raw, dict) else {}, errors)
            if row is None:
                continue
            external = row.values["external_id"]
            if external in cleaned:
                errors.append(
                    {
                        "row": number,
                        "field": "external_id",
                        "reason": _("Repeats row %(row)d.") % {"row": cleaned[external].number},
                    }
                )
                continue
            cleaned[external] = row
        owners = _owners_by_text({r.values["owner"] for r in cleaned.values() if r.values["owner"]})
        now = timezone.now()
        externals = list(cleaned)
        existing: dict[str, KnownCustomer] = {}
        for start in range(0, len(externals), _CHUNK):
            for kc in KnownCustomer.objects.filter(
                source_system=load.source_system, external_id__in=externals[start : start + _CHUNK]
            ):
                existing[kc.external_id] = kc
        to_create: list[KnownCustomer] = []
        to_update: list[KnownCustomer] = []
        for external, row in cleaned.items():
            v = row.values
            owner = owners.get(v["owner"]) if v["owner"] else None
            kc = existing.get(external) or KnownCustomer(source_system=load.source_system, external_id=external)
            kc.company_name = v["company_name"]
            kc.name_key = v["name_key"]
            kc.credit_code = v["credit_code"]
            kc.phone = v["phone"]
            kc.contact_name = v["contact_name"]
            kc.owner = owner
            kc.owner_name = v["owner"]
            kc.sales_office = v["sales_office"]
            kc.loaded_at = now
            kc.batch = load
            (to_update if kc.pk else to_create).append(kc)
        KnownCustomer.objects.bulk_create(to_create, batch_size=_CHUNK)
        KnownCustomer.objects.bulk_update(
            to_update,
            [
                "company_name",
                "name_key",
                "credit_code",
                "phone",
                "contact_name",
                "owner",
                "owner_name",
                "sales_office",
                "loaded_at",
                "batch",
                "updated_at",
            ],
            batch_size=_CHUNK,
        )
        flagged = _flag_existing_records([*to_create, *to_update])
        load.created = len(to_create)
        load.updated = len(to_update)
        load.rejected = len(errors)
        load.errors = errors[:1000]
        load.rows = []
        load.status = LoadStatus.DONE
        load.finished_at = timezone.now()
        load.save()
        record_event(
            actor=actor if actor is not None else load.created_by,
            verb="protection.list.loaded",
            target=load,
            data={
                "source_system": load.source_system,
                "total": load.total,
                "created": load.created,
                "updated": load.updated,
                "rejected": load.rejected,
                "flagged": flagged,
            },
        )
    return load


def _flag_existing_records(customers: Sequence[KnownCustomer]) -> int:
    """Backfill: mark the leads and accounts already in the database that match the loaded
    ``customers`` (credit code first, else company matching key — the rule of
    ``known_customer_for``) with a ``KnownCustomerMatch``, so they show "existing customer —
    owner X" like records entered after the load. Converted and disqualified leads are left
    alone; nobody's record changes owner (routing applies to new entries only). Existing
    matches are kept (the unique key ignores repeats). Returns how many matches are new.
    Four indexed queries per 1,000 customers plus the inserts."""
    created = 0
    for start in range(0, len(customers), _CHUNK):
        chunk = customers[start : start + _CHUNK]
        by_code = {kc.credit_code: kc for kc in chunk if kc.credit_code}
        by_key = {kc.name_key: kc for kc in chunk if kc.name_key}
        rows: dict[tuple[str, int, int], KnownCustomerMatch] = {}
        found: list[tuple[str, int, KnownCustomer, str]] = []
        open_leads = Lead.objects.exclude(status__in=[LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED])
        for kind, qs, key_field in (
            ("lead", open_leads, "company_key"),
            ("account", Account.objects.all(), "name_key"),
        ):
            if by_code:
                for pk, code in qs.filter(credit_code__in=list(by_code)).values_list("pk", "credit_code"):
                    found.append((kind, pk, by_code[code], "credit_code"))
            if by_key:
                for pk, key in qs.filter(**{f"{key_field}__in": list(by_key)}).values_list("pk", key_field):
                    found.append((kind, pk, by_key[key], "name"))
        for kind, record_id, kc, matched_by in found:  # the credit code's match comes first
            rows.setdefault(
                (kind, record_id, kc.pk),
                KnownCustomerMatch(record_kind=kind, record_id=record_id, known_customer=kc, matched_by=matched_by),
            )
        if rows:
            before = KnownCustomerMatch.objects.filter(known_customer__in=[kc.pk for kc in chunk]).count()
            KnownCustomerMatch.objects.bulk_create(list(rows.values()), ignore_conflicts=True, batch_size=_CHUNK)
            created += KnownCustomerMatch.objects.filter(known_customer__in=[kc.pk for kc in chunk]).count() - before
    return created


# --- intake check: known customers (order 10) -------------------------------------------------


def _value(intake: Intake, key: str) -> Any:
    """``key`` from the incoming values, else from the record (convert and claim pass few values)."""
    if key in intake.values:
        return intake.values[key]
    return getattr(intake.record, key, None) if intake.record is not None else None


def _company_of(intake: Intake) -> tuple[str, str]:
    """(credit code, company matching key) of the incoming lead or account."""
    code = normalize_credit_code(str(_value(intake, "credit_code") or ""))
    name = _value(intake, "company_name") if intake.kind == "lead" else _value(intake, "name")
    return code, company_name_key(str(name or ""))[:NAME_KEY_LENGTH]


def _incoming_owner(intake: Intake) -> User | None:
    if intake.kind == "contact":
        account = _value(intake, "account")
        owner = getattr(account, "owner", None)
    else:
        owner = _value(intake, "owner")
    if intake.action == "claim" and owner is None:
        owner = intake.actor
    return owner if isinstance(owner, User) else None


def existing_customer_message(kc: KnownCustomer) -> str:
    """ "This company is an existing customer of <office> — owner <name>." (parts as known)."""
    owner = kc.owner_label
    office = kc.sales_office
    if owner and office:
        return _("This company is an existing customer of %(office)s — owner %(owner)s.") % {
            "office": office,
            "owner": owner,
        }
    if owner:
        return _("This company is an existing customer — owner %(owner)s.") % {"owner": owner}
    if office:
        return _("This company is an existing customer of %(office)s.") % {"office": office}
    return _("This company is an existing customer.")


def check_known_customer(intake: Intake) -> None:
    """``before``: flag, route or refuse a lead or account of a known customer (see module doc)."""
    if intake.options.get("via") == "merge":
        return
    code, key = _company_of(intake)
    _apply_known_customer(intake, known_customer_for(code, key))


def _apply_known_customer(intake: Intake, found: tuple[KnownCustomer, str] | None) -> None:
    if intake.options.get("via") == "merge":
        return
    if found is None:
        return
    kc, matched_by = found
    owner = kc.owner if kc.owner is not None and kc.owner.is_active else None
    finding: dict[str, Any] = {"check": "known_customer", "known_customer_id": kc.pk, "matched_by": matched_by}
    intake.findings.append(finding)
    actor = intake.actor
    incoming = _incoming_owner(intake)
    real_admin = bool(getattr(actor, "is_active", False) and getattr(actor, "is_admin", False))
    own = owner is not None and owner.pk in (getattr(actor, "pk", None), getattr(incoming, "pk", None))
    if real_admin or own:
        return
    if intake.kind == "lead" and intake.action in ("create", "import") and owner is not None:
        intake.values["owner"] = owner
        finding["routed_to"] = owner.pk
        return
    raise Conflict(existing_customer_message(kc), code="known_customer")


def check_known_customer_many(intakes: Sequence[Intake]) -> dict[int, ServiceError]:
    """``before_many``: :func:`check_known_customer` for a batch (an import) with the
    registry read in two queries for the whole batch; refusals by position."""
    keys = [_company_of(it) for it in intakes]
    registry = known_customers_for([code for code, _k in keys], [key for _c, key in keys])
    refused: dict[int, ServiceError] = {}
    for position, intake in enumerate(intakes):
        try:
            _apply_known_customer(intake, registry.get(keys[position]))
        except ServiceError as exc:
            refused[position] = exc
    return refused


def flag_known_customer(intake: Intake, record: Any) -> None:
    """``after``: store the match on the saved record; audit a routing (notifies the owner)."""
    for finding in intake.findings:
        if finding.get("check") != "known_customer":
            continue
        KnownCustomerMatch.objects.get_or_create(
            record_kind=intake.kind,
            record_id=record.pk,
            known_customer_id=finding["known_customer_id"],
            defaults={"matched_by": finding["matched_by"]},
        )
        routed_to = finding.get("routed_to")
        if isinstance(routed_to, int):
            kc = KnownCustomer.objects.only("company_name").get(pk=finding["known_customer_id"])
            record_event(
                actor=intake.actor,
                verb="protection.known_customer.routed",
                target=record,
                data={"known_customer_id": kc.pk, "owner": routed_to, "company": kc.company_name},
            )


# --- intake check: collisions (order 20) -------------------------------------------------------


def _matcher_values(intake: Intake) -> dict[str, Any]:
    keys = ("name", "mobile", "email", "company_name", "credit_code", "account")
    values = {key: _value(intake, key) for key in keys}
    return {key: value for key, value in values.items() if value is not None}


def _collision_claimant(intake: Intake) -> User | None:
    """Who would hold the incoming record, when the collision check applies to it."""
    if intake.options.get("via") in ("convert", "merge"):
        return None
    claimant = _incoming_owner(intake)
    if claimant is None or is_system_actor(claimant):
        return None
    return claimant


def check_collision(intake: Intake) -> None:
    """``before``: note strong duplicates owned (or protected) by another rep; never refuses."""
    claimant = _collision_claimant(intake)
    if claimant is None:
        return
    exclude = [(intake.kind, intake.record.pk)] if intake.record is not None and intake.record.pk else []
    candidates = find_candidates(intake.kind, _matcher_values(intake), exclude=exclude, min_score=STRONG_SCORE)
    _note_collisions([(intake, claimant, candidates)])


def check_collision_many(intakes: Sequence[Intake]) -> dict[int, ServiceError]:
    """``before_many``: :func:`check_collision` for a batch of new records of one kind (an
    import), with the matcher's and the protection lookups' queries once per batch. Each
    record is matched against the database as it was before the batch (rows of one file
    that repeat each other are the import's own "already exists" check)."""
    todo = [(it, c) for it in intakes if it.record is None and (c := _collision_claimant(it)) is not None]
    by_kind: dict[str, list[tuple[Intake, User]]] = {}
    for intake, claimant in todo:
        by_kind.setdefault(intake.kind, []).append((intake, claimant))
    found: list[tuple[Intake, User, list[Candidate]]] = []
    for kind, group in by_kind.items():
        lists = find_candidates_bulk(
            kind,  # type: ignore[arg-type]
            [_matcher_values(it) for it, _c in group],
            min_score=STRONG_SCORE,
        )
        found.extend((it, claimant, cands) for (it, claimant), cands in zip(group, lists, strict=True))
    for intake in intakes:  # updates and claims (not batched): one by one
        if intake.record is not None:
            check_collision(intake)
    _note_collisions(found)
    return {}


def _note_collisions(found: Sequence[tuple[Intake, User, Sequence[Candidate]]]) -> None:
    """Keep, on each intake, the other reps holding a strong candidate (at most
    ``MAX_COLLISIONS_PER_RECORD``), with "protected until" reasons (two queries in all)."""
    per_intake: list[tuple[Intake, User, dict[int, dict[str, Any]]]] = []
    for intake, claimant, candidates in found:
        holders: dict[int, dict[str, Any]] = {}
        for candidate in candidates:
            if candidate.owner_id is None or candidate.owner_id == claimant.pk or candidate.owner_id in holders:
                continue
            holders[candidate.owner_id] = {
                "kind": candidate.kind,
                "pk": candidate.pk,
                "holder": candidate.owner_id,
                "score": candidate.score,
                "reasons": list(candidate.reasons),
            }
            if len(holders) >= MAX_COLLISIONS_PER_RECORD:
                break
        if holders:
            per_intake.append((intake, claimant, holders))
    if not per_intake:
        return
    now = timezone.now()
    every = [h for _i, _c, holders in per_intake for h in holders.values()]
    lead_ids = [h["pk"] for h in every if h["kind"] == "lead"]
    account_ids = [h["pk"] for h in every if h["kind"] == "account"]
    protected: dict[tuple[str, int], Any] = {}
    if lead_ids:
        for pk, until in Lead.objects.filter(pk__in=lead_ids, protected_until__gt=now).values_list(
            "pk", "protected_until"
        ):
            protected[("lead", pk)] = until
    if account_ids:
        for pk, until in Account.objects.filter(pk__in=account_ids, protected_until__gt=now).values_list(
            "pk", "protected_until"
        ):
            protected[("account", pk)] = until
    for intake, claimant, holders in per_intake:
        for found_one in holders.values():
            until = protected.get((found_one["kind"], found_one["pk"]))
            if until is not None:
                found_one["reasons"].append(
                    Phrase(
                        gettext_noop("protected by its owner until %(date)s"),
                        {"date": timezone.localtime(until).date().isoformat()},
                    )
                )
        intake.findings.append({"check": "collision", "claimant": claimant.pk, "candidates": list(holders.values())})


def _collisions_to_open(
    intake: Intake, record: Any, user_of: Callable[[int], User | None]
) -> Iterator[CollisionToOpen]:
    """The collisions :func:`check_collision` found for ``record``, one per other rep's
    candidate, in finding order (``user_of`` resolves the claimant and holders; a holder
    gone since the check is skipped, a missing claimant is an error)."""
    for finding in intake.findings:
        if finding.get("check") != "collision":
            continue
        claimant = user_of(finding["claimant"])
        if claimant is None:
            raise User.DoesNotExist(f"claimant {finding['claimant']} does not exist")
        for found in finding["candidates"]:
            holder = user_of(found["holder"])
            if holder is None:
                continue
            yield CollisionToOpen(
                actor=intake.actor,
                new_kind=intake.kind,
                new_record=record,
                existing_kind=found["kind"],
                existing_id=found["pk"],
                claimant=claimant,
                holder=holder,
                score=float(found["score"]),
                reasons=list(found["reasons"]),
                action=_collision_action(intake),
            )


def check_collision_after(intake: Intake, record: Any) -> None:
    """``after``: open a collision per other rep found by :func:`check_collision`."""
    for item in _collisions_to_open(intake, record, lambda pk: User.objects.filter(pk=pk).first()):
        collision_open(**{f.name: getattr(item, f.name) for f in fields(item)})


def check_collision_after_many(intakes: Sequence[Intake], records: Sequence[Any]) -> None:
    """``after_many``: :func:`check_collision_after` for a batch (an import): the same
    collisions, opened by :func:`collision_open_many` in the same order (a fixed number of
    queries per batch instead of ~five per collision)."""
    wanted = {
        pk
        for intake in intakes
        for finding in intake.findings
        if finding.get("check") == "collision"
        for pk in (finding["claimant"], *(found["holder"] for found in finding["candidates"]))
    }
    if not wanted:
        return
    users = {user.pk: user for user in User.objects.filter(pk__in=wanted)}
    collision_open_many(
        [
            item
            for intake, record in zip(intakes, records, strict=True)
            for item in _collisions_to_open(intake, record, users.get)
        ]
    )


def _collision_action(intake: Intake) -> str:
    """``create``, ``import`` or ``claim`` (a create called with ``via`` import/claim counts as that)."""
    via = intake.options.get("via")
    if via in ("import", "claim"):
        return str(via)
    return intake.action if intake.action in ("import", "claim") else "create"


def collision_open(
    *,
    actor: User | None,
    new_kind: str,
    new_record: models.Model,
    existing_kind: str,
    existing_id: int,
    claimant: User,
    holder: User,
    score: float,
    reasons: Sequence[str | Mapping[str, Any]],
    action: str,
) -> Collision:
    """Open a collision between ``claimant``'s new record and ``holder``'s existing one.

    The arbiter is the lowest manager above both reps (:func:`selectors.arbiter_for`), else
    ``None`` (any administrator). Idempotent per (new record, existing record): an open one
    is returned as it is. Audits ``protection.collision.opened`` on both records' timelines
    (notifies both reps and the arbiter). The reasons are kept language-neutrally
    (:func:`~salesflow.core.phrases.stored_phrase`): each reader sees them in their own
    language."""
    same = Collision.objects.filter(
        new_kind=new_kind,
        new_id=new_record.pk,
        existing_kind=existing_kind,
        existing_id=existing_id,
        status=CollisionStatus.OPEN,
    ).first()
    if same is not None:
        return same
    arbiter = arbiter_for(claimant, holder)
    collision = Collision.objects.create(
        new_kind=new_kind,
        new_id=new_record.pk,
        existing_kind=existing_kind,
        existing_id=existing_id,
        claimant=claimant,
        holder=holder,
        arbiter=arbiter,
        action=action[:20],
        reasons=[stored_phrase(r) for r in reasons[:10]],
        score=max(0.0, min(1.0, score)),
    )
    existing = record_for(existing_kind, existing_id)
    record_event(
        actor=actor,
        verb="protection.collision.opened",
        target=new_record,
        data={
            "collision_id": collision.pk,
            "claimant": claimant.pk,
            "holder": holder.pk,
            "arbiter": arbiter.pk if arbiter is not None else None,
            "existing_kind": existing_kind,
            "existing_id": existing_id,
            "score_percent": round(collision.score * 100),
            "reasons": collision.reasons,
        },
        related=[existing],
    )
    return collision


@dataclass(frozen=True)
class CollisionToOpen:
    """The arguments of one :func:`collision_open` call, for :func:`collision_open_many`."""

    actor: User | None
    new_kind: str
    new_record: models.Model
    existing_kind: str
    existing_id: int
    claimant: User
    holder: User
    score: float
    reasons: list[str | dict[str, Any]]
    action: str


def collision_open_many(items: Sequence[CollisionToOpen]) -> list[Collision]:
    """:func:`collision_open` for many collisions at once (an import batch), with the same
    outcome as calling it item by item in order: an open collision between the same new and
    existing records is returned as it is (also when an earlier item of the call opened it),
    the arbiter is :func:`selectors.arbiter_for` of the pair, and each new collision is
    audited ``protection.collision.opened`` on the new record's timeline and the existing
    record's (when it still exists), in item order (the notifications follow the events).
    Queries: the open collisions of the new records, the teams and managers, the existing
    records' ids per kind, one insert of the collisions and the events' inserts (one
    ``record_events`` call per run of items with the same actor and kind of new record) —
    a fixed number whatever the number of items. Call inside the service's transaction."""
    if not items:
        return []
    open_now: dict[tuple[str, int, str, int], Collision] = {}
    by_new_kind: dict[str, set[int]] = {}
    for item in items:
        by_new_kind.setdefault(item.new_kind, set()).add(item.new_record.pk)
    for new_kind, new_ids in by_new_kind.items():
        for collision in Collision.objects.filter(
            new_kind=new_kind, new_id__in=new_ids, status=CollisionStatus.OPEN
        ).order_by("pk"):
            key = (collision.new_kind, collision.new_id, collision.existing_kind, collision.existing_id)
            open_now.setdefault(key, collision)
    arbiters = arbiters_for((item.claimant, item.holder) for item in items)
    result: list[Collision] = []
    fresh: list[tuple[CollisionToOpen, Collision]] = []
    for item in items:
        key = (item.new_kind, item.new_record.pk, item.existing_kind, item.existing_id)
        same = open_now.get(key)
        if same is not None:
            result.append(same)
            continue
        collision = Collision(
            new_kind=item.new_kind,
            new_id=item.new_record.pk,
            existing_kind=item.existing_kind,
            existing_id=item.existing_id,
            claimant=item.claimant,
            holder=item.holder,
            arbiter=arbiters[(item.claimant.pk, item.holder.pk)],
            action=item.action[:20],
            reasons=[stored_phrase(r) for r in item.reasons[:10]],
            score=max(0.0, min(1.0, item.score)),
        )
        open_now[key] = collision
        fresh.append((item, collision))
        result.append(collision)
    if fresh:
        Collision.objects.bulk_create([collision for _item, collision in fresh])
        existing_ids: dict[str, set[int]] = {}
        for kind in {item.existing_kind for item, _c in fresh}:
            existing_ids[kind] = existing_record_ids(
                kind, (i.existing_id for i, _c in fresh if i.existing_kind == kind)
            )
        run: list[tuple[CollisionToOpen, Collision]] = []
        for position, (item, collision) in enumerate(fresh):
            run.append((item, collision))
            following = fresh[position + 1][0] if position + 1 < len(fresh) else None
            if following is None or (following.actor, type(following.new_record)) != (
                item.actor,
                type(item.new_record),
            ):
                _audit_opened(run, existing_ids)
                run = []
    return result


def _audit_opened(run: Sequence[tuple[CollisionToOpen, Collision]], existing_ids: Mapping[str, set[int]]) -> None:
    """The ``protection.collision.opened`` events of a run of new collisions with one actor
    and one kind of new record (one ``record_events`` call)."""
    models_by_kind: dict[str, type[models.Model]] = {"lead": Lead, "account": Account, "contact": Contact}
    items: list[tuple[models.Model, dict[str, Any] | None]] = []
    related: list[list[models.Model]] = []
    for item, collision in run:
        items.append(
            (
                item.new_record,
                {
                    "collision_id": collision.pk,
                    "claimant": item.claimant.pk,
                    "holder": item.holder.pk,
                    "arbiter": collision.arbiter_id,
                    "existing_kind": item.existing_kind,
                    "existing_id": item.existing_id,
                    "score_percent": round(collision.score * 100),
                    "reasons": collision.reasons,
                },
            )
        )
        model = models_by_kind.get(item.existing_kind)
        present = model is not None and item.existing_id in existing_ids.get(item.existing_kind, set())
        related.append([model(pk=item.existing_id)] if model is not None and present else [])
    record_events(actor=run[0][0].actor, verb="protection.collision.opened", items=items, related_each=related)


# --- deciding a collision -------------------------------------------------------------------


def get_collision_for_user(user: User, pk: object, *, decide: bool = False) -> Collision:
    """The collision ``pk`` when ``user`` may read it (else ``NotFound``-like ``Http404`` via
    ``Collision.DoesNotExist``); with ``decide``, ``Forbidden`` unless they may decide it."""
    try:
        number = int(str(pk))
    except ValueError:
        raise Collision.DoesNotExist from None
    collision = collisions_visible_to(user).select_related("claimant", "holder", "arbiter").get(pk=number)
    if decide and not can_decide(user, collision):
        raise Forbidden(_("Only a manager above both reps or an administrator decides this collision."))
    return collision


def _owned_target(kind: str, record: models.Model | None) -> Lead | Account | None:
    """The record that carries ownership: a lead or an account (a contact's account)."""
    if isinstance(record, Contact):
        return record.account
    if isinstance(record, Lead | Account):
        return record
    return None


def _reassign(actor: User, record: Lead | Account, owner: User) -> None:
    """Transfer a lead, or an account with its contacts and open deals (the deals through
    their own service, one audit event each; won and lost deals keep their owner)."""
    options = {"duplicate_reason": _DECIDED_REASON}
    if isinstance(record, Lead):
        lead_update(actor=actor, lead=record, owner=owner, intake_options=options)
    else:
        account_reassign(actor=actor, account=record, owner=owner, follow=True, intake_options=options)


@transaction.atomic
def collision_decide(
    *, actor: User, collision: Collision, decision: str, direction: str = "", note: str = ""
) -> Collision:
    """Decide an open collision: ``keep`` (nothing moves), ``transfer`` (``direction``
    ``to_holder``: the new record goes to the holder; ``to_claimant``: the existing record
    goes to the claimant — a contact moves with its account, an account with its open
    deals), or ``share`` (the existing
    record, or a contact's account, is shared read-write with the claimant).

    Raises ``Forbidden`` unless ``actor`` may decide (:func:`permissions.can_decide`),
    ``Conflict`` when it is no longer open or the record to move is gone, and
    ``ValidationFailed`` for an unknown decision or direction or an over-long note; the
    record services refuse an owner ``actor`` may not assign. Audits
    ``protection.collision.decided`` on both records' timelines (notifies both reps).
    """
    if not can_decide(actor, collision):
        raise Forbidden(_("Only a manager above both reps or an administrator decides this collision."))
    current = Collision.objects.select_for_update().get(pk=collision.pk)
    if current.status != CollisionStatus.OPEN:
        raise Conflict(_("This collision has already been decided."), code="decided")
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if decision not in Decision.values:
        errors["decision"] = [_("Choose keep, transfer or share.")]
    if decision == Decision.TRANSFER and direction not in TransferDirection.values:
        errors["direction"] = [_("Choose which record is transferred.")]
    if decision != Decision.TRANSFER:
        direction = ""
    if len(note) > NOTE_LENGTH:
        errors["note"] = [_("Use at most %(max)d characters.") % {"max": NOTE_LENGTH}]
    elif "\x00" in note:
        errors["note"] = [_("The value contains a NUL character.")]
    if errors:
        raise ValidationFailed(_("The decision could not be saved."), field_errors=errors)
    new_record = record_for(current.new_kind, current.new_id)
    existing = record_for(current.existing_kind, current.existing_id)
    gone = Conflict(_("The record to move no longer exists."), code="record_gone")
    if decision == Decision.TRANSFER:
        if direction == TransferDirection.TO_HOLDER:
            target = _owned_target(current.new_kind, new_record)
            if target is None:
                raise gone
            _reassign(actor, target, current.holder)
        else:
            target = _owned_target(current.existing_kind, existing)
            if target is None:
                raise gone
            _reassign(actor, target, current.claimant)
    elif decision == Decision.SHARE:
        target = _owned_target(current.existing_kind, existing)
        if target is None:
            raise gone
        if target.owner_id != current.claimant_id:
            share_grant(actor=actor, target=target, grantee_user=current.claimant, access=ShareAccess.WRITE)
    current.status = CollisionStatus.DECIDED
    current.decision = decision
    current.direction = direction
    current.note = note
    current.decided_by = actor if actor.pk and not is_system_actor(actor) else None
    current.decided_at = timezone.now()
    current.save()
    record_event(
        actor=actor,
        verb="protection.collision.decided",
        target=new_record or existing or current,
        data={
            "collision_id": current.pk,
            "decision": decision,
            "direction": direction,
            "claimant": current.claimant_id,
            "holder": current.holder_id,
            "note": note,
        },
        related=[existing] if new_record is not None else [],
    )
    for field in ("status", "decision", "direction", "note", "decided_by", "decided_at"):
        setattr(collision, field, getattr(current, field))
    return collision
