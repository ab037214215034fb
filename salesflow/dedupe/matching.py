"""The duplicate matcher (查重): candidate duplicates of a lead, account or contact among
the leads, contacts and accounts in the database.

This module is the one matcher every caller uses — create and edit forms, the API,
imports, claims, conversion, collision detection, the duplicate report and the
``salesflow duplicates`` command — so "is this a duplicate?" has one answer everywhere.

Public interface (stable; callers depend on it):

- :class:`Candidate` — one existing record that may be the same party, with a score in
  ``[0, 1]`` and the human-readable reasons ("same mobile", "company name 92% similar
  after removing suffixes").
- :func:`find_candidates` — candidates for one incoming record.
- :func:`find_candidates_bulk` — the same for many incoming records at once (imports),
  with a bounded number of queries per batch rather than per row.

How: the incoming values are prepared into matching features
(:func:`salesflow.dedupe.configs.prepare_party`: E.164 phones, email, valid credit code,
company name without suffixes/regions, company stem and its pinyin, regions, the person's
name and its pinyin). Existing records are fetched by *blocking keys* — mobile, phone key,
email, credit code, company stem, company pinyin (indexed columns, three queries per batch of
:data:`BATCH_SIZE` rows) — and every pair sharing a key is scored by the engine
(:mod:`salesflow.dedupe.engine`) with the rules for the two kinds. Against an account only
company evidence counts; between people (leads, contacts) the person and the company count.

It reads without visibility filtering: callers decide what to show (a candidate the user
may not see is named by its owner only, never opened).
"""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import CharField, Count, Q, Value
from django.db.models.expressions import RawSQL

from salesflow.core.normalize import normalize_phone, phone_match_key
from salesflow.dedupe.configs import (
    COMPANY_NAME_MAX,
    PARTY_BIAS,
    StoredPerson,
    party_blocking_keys,
    party_config,
    person_name_weight,
    prepare_party,
    prepare_stored_party,
    stored_person_fields,
)
from salesflow.dedupe.engine import Features, logit, score_features
from salesflow.leads.models import Lead
from salesflow.parties.models import Account, Contact

RecordKind = Literal["lead", "account", "contact"]
RECORD_KINDS: tuple[RecordKind, ...] = ("lead", "account", "contact")
_MODELS: dict[RecordKind, Any] = {"lead": Lead, "account": Account, "contact": Contact}

# Scores at or above this are shown as "possible duplicates" before saving.
DEFAULT_MIN_SCORE = 0.8
# Incoming rows per round of queries in find_candidates_bulk (three queries per batch).
BATCH_SIZE = 500
# A blocking key shared by more existing records of one kind than this is too common to tell
# anything (e.g. a company stem like "科技", a switchboard number): its records are not
# fetched through it (see :func:`fetch_blocks`).
MAX_PER_KEY = 200


@dataclass(frozen=True)
class Candidate:
    """An existing record that may be the incoming one.

    ``kind``/``pk`` name it; ``owner_id`` is its owner (an account's owner, a contact's
    account's owner, a lead's owner or ``None``); ``label`` is its display name;
    ``score`` in ``[0, 1]``; ``reasons`` are translated phrases, strongest first.
    """

    kind: RecordKind
    pk: int
    score: float
    reasons: tuple[str, ...]
    owner_id: int | None
    label: str


class Existing(NamedTuple):
    """An existing record prepared for scoring: ``keys`` are all its blocking keys
    (:func:`all_blocking_keys`; the common ones of a batch are left out where it is used).
    A record a :class:`Gate` ruled out has :data:`PRUNED` features and only the keys it can
    share with the batch. A named tuple: a batch builds thousands of them."""

    kind: RecordKind
    pk: int
    features: Features
    owner_id: int | None
    label: str
    keys: tuple[str, ...] = ()


def party_row(kind: RecordKind, values: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's row for a record's own field names (``values`` of a lead, account or
    contact: ``name``, ``mobile``, ``phone``, ``email``, ``company_name``, ``credit_code``,
    ``account`` for contacts — an :class:`Account` or its name as ``company_name``)."""
    company = values.get("company_name") or ""
    if kind == "contact" and not company:
        account = values.get("account")
        company = account if isinstance(account, str) else getattr(account, "name", "") if account else ""
    return {
        "kind": kind,
        "name": values.get("name") or "",
        "company_name": company,
        "mobile": values.get("mobile") or "",
        "phone": values.get("phone") or "",
        "email": values.get("email") or "",
        "credit_code": values.get("credit_code") or "",
        "name_pinyin": values.get("name_pinyin") or "",
        "company_pinyin": values.get("company_pinyin") or "",
    }


def features_of(kind: RecordKind, values: Mapping[str, Any]) -> Features:
    """Matching features of a record's values (see :func:`party_row`)."""
    return prepare_party(party_row(kind, values))


def score_pair(
    kind_a: RecordKind, a: Features, kind_b: RecordKind, b: Features, min_score: float | None = None
) -> tuple[float, tuple[str, ...]]:
    """Score two prepared records of the given kinds: ``(score, reasons)``; below
    ``min_score`` (when given) the reasons are left out (``()``) and never built."""
    return score_features(party_config(kind_a, kind_b), a, b, min_score)


def find_candidates(
    kind: RecordKind,
    values: Mapping[str, Any],
    *,
    exclude: Iterable[tuple[RecordKind, int]] = (),
    limit: int = 10,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[Candidate]:
    """Existing leads, contacts and accounts that may be the record ``values`` describe.

    ``values`` uses the record's own field names (``name``, ``mobile``, ``phone``, ``email``,
    ``company_name`` for leads, ``name``/``credit_code`` for accounts, ``account`` for
    contacts); missing keys are blank. ``exclude`` leaves out records (the one being edited).
    Returns at most ``limit`` candidates with ``score >= min_score``, best first.
    """
    return find_candidates_bulk(kind, [values], exclude=exclude, limit=limit, min_score=min_score)[0]


def find_candidates_bulk(
    kind: RecordKind,
    rows: Sequence[Mapping[str, Any]],
    *,
    exclude: Iterable[tuple[RecordKind, int]] = (),
    limit: int = 10,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[list[Candidate]]:
    """:func:`find_candidates` for every row of ``rows`` (same order).

    Queries: at most six per :data:`BATCH_SIZE` rows (three block-size counts and three
    fetches: leads, contacts, accounts; nine on PostgreSQL, where a fetch reads the ids
    first), whatever the rows contain.
    """
    excluded = set(exclude)
    result: list[list[Candidate]] = []
    for start in range(0, len(rows), BATCH_SIZE):
        batch = [features_of(kind, row) for row in rows[start : start + BATCH_SIZE]]
        fetched = fetch_blocks(batch, min_score=(kind, min_score))
        row_keys = [bounded_blocking_keys(features, fetched.common) for features in batch]
        # only the blocks some row looks up are built (a record's other keys lead nowhere)
        wanted = set().union(*row_keys)
        index: dict[str, list[Existing]] = defaultdict(list)
        for record in fetched.records:
            if (record.kind, record.pk) not in excluded:
                for key in record.keys:
                    if key in wanted:
                        index[key].append(record)
        for features, keys in zip(batch, row_keys, strict=True):
            seen: dict[tuple[str, int], Existing] = {}
            for key in keys:
                block = index.get(key, ())
                if len(block) > MAX_PER_KEY:
                    continue  # common inside this batch's fetch too: tells nothing
                for record in block:
                    if record.features is not PRUNED:
                        seen[(record.kind, record.pk)] = record
            candidates: list[Candidate] = []
            for record in seen.values():
                score, reasons = score_pair(kind, features, record.kind, record.features, min_score)
                if score >= min_score:
                    candidates.append(
                        Candidate(record.kind, record.pk, round(score, 4), reasons, record.owner_id, record.label)
                    )
            candidates.sort(key=lambda c: (-c.score, c.kind, c.pk))
            result.append(candidates[:limit])
    return result


def all_blocking_keys(f: Features) -> tuple[str, ...]:
    """Every blocking key of a record, each once: :func:`party_blocking_keys` plus the pair
    key of its company stem and person name (``sn:``), the more selective key that stands in
    for a common stem or a common name."""
    keys = tuple(dict.fromkeys(party_blocking_keys(f)))
    if f["stem"] and f["person_pinyin"]:
        keys += (f"sn:{f['stem']}|{f['person_pinyin']}",)
    return keys


def bounded_blocking_keys(f: Features, common: frozenset[str] | set[str]) -> set[str]:
    """The blocking keys a record is matched through once the ``common`` keys (blocks larger
    than :data:`MAX_PER_KEY` in the database) are left out: :func:`all_blocking_keys` but
    the common ones (a common stem's records are still reached through the ``sn:`` key)."""
    return set(all_blocking_keys(f)) - common


@dataclass(frozen=True)
class Fetched:
    """What :func:`fetch_blocks` found: the records and the keys left out as too common."""

    records: list[Existing]
    common: frozenset[str]


def _keysets(batch: Sequence[Features]) -> dict[str, set[str]]:
    sets: dict[str, set[str]] = defaultdict(set)
    for f in batch:
        for phone in f["phones"]:
            sets["phone_key"].add(phone)
            # stored mobiles are normalize_phone forms: 11 digits for mainland numbers
            sets["mobile"].add(normalize_phone(phone))
        for name in ("email", "credit_code", "stem", "stem_pinyin", "person_pinyin"):
            if f[name]:
                sets[name].add(f[name])
    return sets


# (model column, keyset name, blocking-key prefix) whose block sizes are counted per kind;
# credit codes are unique per company and are never common.
_COUNTED: dict[RecordKind, tuple[tuple[str, str, str], ...]] = {
    "lead": (
        ("mobile", "mobile", "m"),
        ("phone_key", "phone_key", "p"),
        ("email", "email", "e"),
        ("company_stem", "stem", "s"),
        ("company_pinyin", "stem_pinyin", "sp"),
    ),
    "contact": (("mobile", "mobile", "m"), ("phone_key", "phone_key", "p"), ("email", "email", "e")),
    "account": (
        ("phone_key", "phone_key", "p"),
        ("company_stem", "stem", "s"),
        ("company_pinyin", "stem_pinyin", "sp"),
    ),
}


def common_keys(k: Mapping[str, set[str]], kinds: Iterable[RecordKind] = RECORD_KINDS) -> set[str]:
    """Blocking keys (``p:+86…``, ``s:科技``, ``e:…``, ``sp:…``) of the keysets ``k`` held by
    more than :data:`MAX_PER_KEY` records of one of ``kinds`` (one query per kind over the
    indexed key columns: a ``GROUP BY`` count on SQLite; on PostgreSQL a count of at most
    ``MAX_PER_KEY + 1`` index entries per key, which reads a bounded number of rows however
    common the keys are — the ``GROUP BY`` counted every row of every common key)."""
    common: set[str] = set()
    for kind in kinds:
        model = _MODELS[kind]
        counted = [(column, prefix, k[keyset]) for column, keyset, prefix in _COUNTED[kind] if k.get(keyset)]
        if not counted:
            continue
        for prefix, value in _over_limit(model, counted):
            if prefix == "m":  # a stored mobile: its blocking key is the phone key
                common.add(f"p:{phone_match_key(value)}")
            else:
                common.add(f"{prefix}:{value}")
    return common


def _over_limit(model: Any, counted: Sequence[tuple[str, str, set[str]]]) -> list[tuple[str, str]]:
    """``(prefix, value)`` for each value of each ``(column, prefix, values)`` of ``counted``
    held by more than :data:`MAX_PER_KEY` rows of ``model`` (one query)."""
    connection = connections[model.objects.db]
    if connection.vendor != "postgresql":
        parts = [
            model.objects.filter(**{f"{column}__in": values})
            .values(column)
            .annotate(n=Count("pk"))
            .filter(n__gt=MAX_PER_KEY)
            .annotate(prefix=Value(prefix, output_field=CharField()))
            .values_list("prefix", column)
            .order_by()
            for column, prefix, values in counted
        ]
        query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        return list(query)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    statements: list[str] = []
    params: list[Any] = []
    for column, prefix, values in counted:
        # the column names are the model's own (_COUNTED), quoted; the values are parameters
        statements.append(
            f"SELECT %s, k FROM unnest(%s::text[]) AS k WHERE (SELECT count(*) FROM "  # noqa: S608
            f"(SELECT 1 FROM {table} WHERE {quote(model._meta.get_field(column).column)} = k LIMIT %s) AS n) > %s"
        )
        params.extend([prefix, sorted(values), MAX_PER_KEY + 1, MAX_PER_KEY])
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(statements), params)
        rows: list[tuple[str, str]] = cursor.fetchall()
    return rows


def fetch_by_blocking_keys(batch: Sequence[Features], kinds: Iterable[RecordKind] = RECORD_KINDS) -> list[Existing]:
    """Existing records of ``kinds`` sharing a selective blocking key with any of ``batch``
    (see :func:`fetch_blocks`), prepared for scoring."""
    return fetch_blocks(batch, kinds).records


def fetch_blocks(
    batch: Sequence[Features],
    kinds: Iterable[RecordKind] = RECORD_KINDS,
    *,
    min_score: tuple[RecordKind, float] | None = None,
) -> Fetched:
    """Existing records of ``kinds`` (leads, contacts, accounts) sharing a blocking key with
    any of ``batch``, prepared for scoring; two queries per kind.

    With ``min_score`` — ``(kind of the batch's rows, threshold)`` — a person (lead or
    contact) that no row of the batch can score at or above the threshold is not prepared:
    it comes back with :data:`PRUNED` features and the only keys it can share with the
    batch, its company's (see :class:`Gate`), so the blocks keep their sizes and the scored
    pairs are the same.

    Bounded blocking: a key held by more than :data:`MAX_PER_KEY` existing records of a kind
    (a very common company stem like "科技", a switchboard number shared by a whole company, a
    common name) is *common* and brings in no records by itself. For a person whose company
    stem (or name) is common, the pair (stem, name pinyin) is used instead. The trade-off: a
    duplicate that shares nothing but a common key — same common stem, different name, no
    shared phone or email — is no longer found; one that shares any selective key still is.
    """
    k = _keysets(batch)
    wanted = [kind for kind in RECORD_KINDS if kind in set(kinds)]
    if not k:
        return Fetched([], frozenset())
    common = common_keys(k, wanted)

    def keep(values: set[str], prefix: str) -> set[str]:
        return {v for v in values if f"{prefix}:{v}" not in common}

    phones = keep(k["phone_key"], "p")
    mobiles = {normalize_phone(p) for p in phones}
    emails, codes = keep(k["email"], "e"), k["credit_code"]
    stems, stem_pinyins = keep(k["stem"], "s"), keep(k["stem_pinyin"], "sp")
    # people at a company with a common stem (or with a common name): stem and name together
    pairs = {
        (f["stem"], f["person_pinyin"])
        for f in batch
        if f["stem"] and f["person_pinyin"] and f"s:{f['stem']}" in common
    }
    # One part per indexed key column (an empty one is left out), fetched through a UNION of
    # index lookups (see _select).
    lead_q = _parts(
        mobile__in=mobiles,
        phone_key__in=phones,
        email__in=emails,
        credit_code__in=codes,
        company_stem__in=stems,
        company_pinyin__in=stem_pinyins,
    )
    if pairs:
        lead_q.append(functools.reduce(operator.or_, (Q(company_stem=s, name_pinyin=n) for s, n in sorted(pairs))))
    contact_q = _parts(mobile__in=mobiles, phone_key__in=phones, email__in=emails)
    names = k["person_pinyin"]
    if names and k["stem"]:
        contact_q.append(Q(name_pinyin__in=names, account__company_stem__in=k["stem"]))
    account_q = _parts(
        credit_code__in=codes, company_stem__in=stems, company_pinyin__in=stem_pinyins, phone_key__in=phones
    )
    cap = MAX_PER_KEY * max(1, len(batch))
    gate = Gate(min_score[0], batch, min_score[1]) if min_score is not None else None
    if gate is not None and not gate.active:
        gate = None  # it would rule nothing out: no record's fields are read for it
    out: list[Existing] = []
    if "lead" in wanted:
        out.extend(existing_records("lead", lead_q, cap, gate=gate))
    if "contact" in wanted:
        out.extend(existing_records("contact", contact_q, cap, gate=gate))
    if "account" in wanted:
        out.extend(existing_records("account", account_q, cap))
    return Fetched(out, frozenset(common))


# The features of a record a :class:`Gate` ruled out (compared by identity): it is in its
# blocks, so they keep their sizes, but it is never scored.
PRUNED: Features = {}


class Gate:
    """Which fetched people (leads, contacts) can score at or above ``min_score`` against a
    batch of incoming ``kind`` rows; the others need not be prepared or scored.

    The bound: between two people, a record that shares no phone, email or credit code with
    any row of the batch gets at most 0 from the phone, email and credit-code rules, at most
    :data:`COMPANY_NAME_MAX` from the company name and at most 0 from the region, so it scores
    at most ``sigmoid(bias + COMPANY_NAME_MAX + name weight)``. Its name weight
    (:func:`~salesflow.dedupe.configs.person_name_weight`) is computed exactly against every
    row it shares a company key with (stem or its pinyin); a record whose name pinyin some
    row has too is kept (it pairs by name). An incoming account (company evidence only), a
    record whose company parts are not stored, and a ``min_score`` that is not a
    probability rule nothing out.
    """

    def __init__(self, kind: RecordKind, batch: Sequence[Features], min_score: float) -> None:
        self.active = kind != "account" and 0.0 < min_score < 1.0
        # below this an evidence sum cannot reach min_score (a margin for rounding)
        self.floor = (logit(min_score) if self.active else 0.0) - PARTY_BIAS - COMPANY_NAME_MAX - 1e-9
        # the batch's phone keys, emails, credit codes and name pinyins (none blank)
        self.phones: set[str] = set()
        self.emails: set[str] = set()
        self.codes: set[str] = set()
        self.pinyins: set[str] = set()
        self.by_stem: dict[str, list[Features]] = defaultdict(list)
        self.by_stem_pinyin: dict[str, list[Features]] = defaultdict(list)
        for f in batch:
            self.phones.update(f["phones"])
            for value, into in (
                (f["email"], self.emails),
                (f["credit_code"], self.codes),
                (f["person_pinyin"], self.pinyins),
            ):
                if value:
                    into.add(value)
            if f["stem"]:
                self.by_stem[f["stem"]].append(f)
            if f["stem_pinyin"]:
                self.by_stem_pinyin[f["stem_pinyin"]].append(f)

    def pruned_keys(self, f: StoredPerson | None) -> tuple[str, ...] | None:
        """For a stored person (its :func:`stored_person_fields`) no row can score high
        enough with, the blocking keys it can share with the batch's rows (its company's stem
        and stem pinyin: every other key of its is no row's, or it would not be ruled out);
        ``None`` when it must be prepared and scored (also when ``f`` is ``None``: a company
        without stored parts)."""
        if not self.active:
            return None
        if f is None or f.person_pinyin in self.pinyins:
            return None
        # a shared phone, email or credit code (blank is none of the batch's)
        phones = self.phones
        if f.mobile in phones or f.phone in phones or f.email in self.emails or f.credit_code in self.codes:
            return None
        floor = self.floor
        for row in (*self.by_stem.get(f.stem, ()), *self.by_stem_pinyin.get(f.stem_pinyin, ())):
            if person_name_weight(row, f.person, f.person_pinyin) >= floor:
                return None
        if not f.stem:
            return ()
        return (f"s:{f.stem}", f"sp:{f.stem_pinyin}") if f.stem_pinyin else (f"s:{f.stem}",)


def _parts(**lookups: set[str]) -> list[Q]:
    """One ``Q`` per ``__in`` lookup whose values are not empty."""
    return [Q(**{lookup: values}) for lookup, values in lookups.items() if values]


def _stored_features(*stored: str) -> tuple[Features, tuple[str, ...]]:
    """:func:`~salesflow.dedupe.configs.prepare_stored_party` of an existing record's stored
    values (its arguments, in its order) and the features' :func:`all_blocking_keys`. Not
    memoised: at scale 1.0 an import met one kept record in four again, and a cache's
    lookups (a hash of twelve strings on every call) cost more than they saved, for an
    import and for a whole-database scan alike (``bench/NOTES-issue8-imports.md``)."""
    features = prepare_stored_party(*stored)
    return features, all_blocking_keys(features)


def _rows(queryset: Any) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` queryset read with a plain cursor (its SQL as the ORM
    compiles it): the columns the matcher reads are text and integers, which the backends
    return as they are, so the rows are what ``values_list`` gives, without its per-row
    iteration."""
    try:
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:  # a filter that matches nothing (e.g. every ``__in`` list empty)
        return []
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _select(model: Any, where: Q | Sequence[Q], ordered: bool, limit: int, *columns: str) -> list[tuple[Any, ...]]:
    """The ``columns`` of at most ``limit`` rows of ``model`` matching ``where`` (sorted by
    primary key when ``ordered``) — a ``Q``, or a list of ``Q`` any of which matches: then
    the rows whose primary key is in the ``UNION`` of one primary-key query per part, each
    an index lookup. (One ``OR`` over the parts made SQLite scan the whole table, and so did
    one part selecting every column when its key is blank in most rows, as landline keys
    and credit codes are: the statistics make the index look useless.)"""
    parts = [where] if isinstance(where, Q) else list(where)
    if not parts:
        return []
    order = ("pk",) if ordered else ()
    if len(parts) == 1:
        return _rows(model.objects.filter(parts[0]).order_by(*order).values_list(*columns)[:limit])
    ids = [model.objects.filter(part).order_by().values_list("pk") for part in parts]
    union = ids[0].union(*ids[1:])
    if connections[union.db].vendor == "postgresql":
        # PostgreSQL plans ``pk IN (union)`` as a scan of the whole table hashed against the
        # union (it expects thousands of ids); given the ids, it looks them up in the index
        found = [row[0] for row in _rows(union)]
        if not found:
            return []
        return _rows(model.objects.filter(pk__in=found).order_by(*order).values_list(*columns)[:limit])
    sql, params = union.query.get_compiler(using=union.db).as_sql()
    # the union is the ORM's own SQL with its parameters kept apart (no text is pasted in)
    matching = model.objects.filter(pk__in=RawSQL(sql, params))  # noqa: S611
    return _rows(matching.order_by(*order).values_list(*columns)[:limit])


def existing_records(
    kind: RecordKind, where: Q | Sequence[Q], limit: int, *, ordered: bool = False, gate: Gate | None = None
) -> list[Existing]:
    """At most ``limit`` records of ``kind`` matching ``where`` (a ``Q``, or a list of ``Q``
    any of which matches: see :func:`_select`; by primary key when ``ordered``), prepared
    for scoring (one query, two on PostgreSQL for several conditions; plain rows, no model
    instances). A person the ``gate`` rules out
    comes back with :data:`PRUNED` features and the keys :meth:`Gate.pruned_keys` gives."""
    out: list[Existing] = []
    add = out.append
    if kind == "lead":
        leads = _select(
            Lead,
            where,
            ordered,
            limit,
            "pk",
            "name",
            "mobile",
            "phone",
            "email",
            "company_name",
            "credit_code",
            "owner_id",
            "name_pinyin",
            "company_pinyin",
            "company_norm",
            "company_regions",
            "phone_key",
        )
        for pk, name, mobile, phone, email, company, code, owner_id, name_py, company_py, norm, regions, pkey in leads:
            if gate is not None:
                pruned = gate.pruned_keys(
                    stored_person_fields(
                        "lead", name, mobile, phone, email, company, code, name_py, company_py, norm, pkey
                    )
                )
                if pruned is not None:
                    add(Existing("lead", pk, PRUNED, owner_id, "", pruned))
                    continue
            features, keys = _stored_features(
                "lead", name, mobile, phone, email, company, code, name_py, company_py, norm, regions, pkey
            )
            add(
                Existing("lead", pk, features, owner_id, f"{name} · {company}" if company else name, keys)
            )  # Lead.__str__
        return out
    if kind == "contact":
        contacts = _select(
            Contact,
            where,
            ordered,
            limit,
            "pk",
            "name",
            "mobile",
            "phone",
            "email",
            "name_pinyin",
            "account__name",
            "account__owner_id",
            "account__company_pinyin",
            "account__company_norm",
            "account__company_regions",
            "phone_key",
        )
        for pk, name, mobile, phone, email, name_py, account, owner_id, company_py, norm, regions, pkey in contacts:
            if gate is not None:
                pruned = gate.pruned_keys(
                    stored_person_fields(
                        "contact", name, mobile, phone, email, account, "", name_py, company_py, norm, pkey
                    )
                )
                if pruned is not None:
                    add(Existing("contact", pk, PRUNED, owner_id, "", pruned))
                    continue
            features, keys = _stored_features(
                "contact", name, mobile, phone, email, account, "", name_py, company_py, norm, regions, pkey
            )
            add(Existing("contact", pk, features, owner_id, name, keys))
        return out
    accounts = _select(
        Account,
        where,
        ordered,
        limit,
        "pk",
        "name",
        "credit_code",
        "phone",
        "owner_id",
        "company_pinyin",
        "company_norm",
        "company_regions",
        "phone_key",
    )
    for pk, name, code, phone, owner_id, company_py, norm, regions, pkey in accounts:
        features, keys = _stored_features("account", name, "", phone, "", "", code, "", company_py, norm, regions, pkey)
        add(Existing("account", pk, features, owner_id, name, keys))
    return out
