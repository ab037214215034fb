"""Reads of the search index: the global search and the hit ids the lists filter on.

One selector, two engines. SQLite matches through the FTS5 ``trigram`` table
``search_entry_fts`` (``rowid IN (… MATCH …)``); PostgreSQL with ``LIKE '%term%'`` on the
folded text, served by a ``pg_trgm`` GIN index. Terms of three characters or more match
as substrings; two-character Chinese terms through their stored bigram token
(``documents.BIGRAM_MARK``); other shorter terms (one character, two Latin letters or
digits) as a prefix of the title when alone, else as a plain substring of the rows the
longer terms found. Visibility is applied in SQL, per kind, from the readable-rows
registry of ``core.visibility``.

The global search reads only each kind's first page, in a fixed order, and never the
whole match set of a short or very common term (``公司`` matches most rows): see
:func:`search` and :func:`_first_hits`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Collate, StrIndex
from django.db.models.lookups import Exact, GreaterThan
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import capfirst

from salesflow.core.normalize import normalize_phone
from salesflow.core.schemas import SEARCH_MAX_LENGTH
from salesflow.core.visibility import model_for_kind, readable_rows
from salesflow.search.documents import (
    BIGRAM_MARK,
    TITLE_MAX,
    fold,
    is_cjk,
    registration_for_kind,
    searchable_kinds,
)
from salesflow.search.models import SearchEntry
from salesflow.users.permissions import visible_owner_ids
from salesflow.users.policy import Probe, in_rows, wide_scope

DEFAULT_LIMIT = 5
MAX_LIMIT = 50
_PHONE_LIKE = re.compile(r"^[+＋]?[\d０-９][\d０-９\s\-–—().·/]*$")
_MAX_TERMS = 8


@dataclass
class ParsedQuery:
    """A search term split into what the index can match."""

    substrings: list[str] = field(default_factory=list)  # ≥ 3 characters (or bigram tokens)
    prefix: str = ""  # a short term matched as the start of the title
    residual: list[str] = field(default_factory=list)  # short terms beside longer ones: plain contains

    @property
    def empty(self) -> bool:
        return not self.substrings and not self.prefix


def parse_query(q: str) -> ParsedQuery:
    """Fold ``q`` like the stored text and split it into terms (all must match).

    A phone number typed with spaces or dashes is one term (its normalised digits).
    """
    q = (q or "")[:SEARCH_MAX_LENGTH].strip()
    if not q:
        return ParsedQuery()
    if _PHONE_LIKE.match(q):
        digits = normalize_phone(q)
        if len(digits) >= 3:
            return ParsedQuery(substrings=[digits])
    terms = fold(q).split()[:_MAX_TERMS]
    parsed = ParsedQuery()
    short: list[str] = []
    for term in terms:
        if len(term) >= 3:
            parsed.substrings.append(term)
        elif len(term) == 2 and is_cjk(term[0]) and is_cjk(term[1]):
            parsed.substrings.append(term + BIGRAM_MARK)
        else:
            short.append(term)
    if not parsed.substrings and short:
        parsed.prefix = " ".join(short)
    else:
        parsed.residual = short
    return parsed


def _match_q(parsed: ParsedQuery) -> Q:
    """The index rows matching ``parsed`` (callers check ``parsed.empty`` first)."""
    if parsed.prefix:
        if connection.vendor == "sqlite":  # a range, so the (kind, title_key) index serves it (LIKE would scan)
            return Q(title_key__gte=parsed.prefix, title_key__lt=parsed.prefix + "\U0010ffff")
        return Q(title_key__startswith=parsed.prefix)  # LIKE 'x%' on the varchar_pattern_ops index
    cond = Q()
    if connection.vendor == "sqlite":
        match = " AND ".join('"' + term.replace('"', '""') + '"' for term in parsed.substrings)
        cond = Q(id__in=RawSQL("SELECT rowid FROM search_entry_fts WHERE search_entry_fts MATCH %s", [match]))
    else:
        for term in parsed.substrings:
            cond &= Q(text__contains=term)
    for term in parsed.residual:  # checked on the rows the index found
        cond &= Q(text__contains=term)
    return cond


def _visibility(user: Any, kind: str, *, broad: bool) -> tuple[Q, bool] | None:
    """The rows of ``kind`` whose record exists and ``user`` may read it, and whether the
    filter *starts from the visible rows* (``None``: the kind is not registered).

    By default a correlated ``EXISTS`` on the kind's probe rows (``users.policy``), so each
    hit is checked by primary key and a walk stops at the page's limit: right for a term
    with few hits, and for a wide scope (a department manager, an administrator), which
    finds its rows among the first hits. ``broad`` (a common term or a short prefix,
    matching thousands of rows) with a narrow scope (a rep, who sees 0.5% of the records):
    ``object_id IN (the kind's visible rows)``, the form a rep's list starts from — the
    rep's few thousand ids are read once, where probing hit after hit would test ~200 hits
    per visible one.
    """
    model = model_for_kind(kind)
    if model is None:
        return None
    narrow = broad and visible_owner_ids(user) is not None and not wide_scope(user)
    rows = readable_rows(user, model, probe=not narrow)
    if rows is None:
        return None
    if narrow:
        # an array on PostgreSQL (``users.policy.AnyOf``): looked up in the (kind, object_id)
        # index; as ``IN`` it became a semi-join after a scan of the kind's every row
        return in_rows("object_id", rows.order_by().values("pk")) & Q(), True
    if wide_scope(user):
        # a probe per row read (``policy.Probe``: a scalar subquery, never turned into a
        # join): as ``EXISTS`` PostgreSQL joined a common term's whole window of 5,000 rows
        # to the records and sorted it, instead of walking the title order to the limit
        return Q(Probe(rows.filter(pk=OuterRef("object_id")))), False
    return Q(Exists(rows.filter(pk=OuterRef("object_id")).values("pk"))), False


def matching_ids(kind: str, q: str) -> QuerySet[SearchEntry, Any] | None:
    """Ids (``object_id`` values) of ``kind`` records whose index row matches ``q``, as a
    subquery for a list's ``pk__in`` filter; ``None`` when ``q`` holds nothing to search.

    The list applies its own visibility; this only narrows by text.
    """
    parsed = parse_query(q)
    if parsed.empty:
        return None
    return SearchEntry.objects.filter(_match_q(parsed), kind=kind).values("object_id")


def filter_by_search(qs: QuerySet[Any], kind: str, q: str | None) -> QuerySet[Any]:
    """``qs`` narrowed to the records of ``kind`` matching ``q`` (unchanged for blank ``q``;
    nothing for a term that folds to nothing searchable)."""
    if not (q or "").strip():
        return qs
    ids = matching_ids(kind, q or "")
    return qs.none() if ids is None else qs.filter(pk__in=ids)


@dataclass
class SearchHit:
    kind: str
    record_id: int
    title: str
    subtitle: str
    url: str


@dataclass
class SearchGroup:
    kind: str
    label: str
    icon: str
    hits: list[SearchHit]
    more: bool  # further hits beyond the limit: the group links to its list
    list_url: str  # the kind's list filtered by the same term


# --- the global search: first hits per kind in a fixed order, never every match ----------------

#: A term with at least this many index matches (all kinds together, counted up to here)
#: is *common*: its first page is read in title order instead of from the match set.
COMMON_MATCHES = 5000
#: A common term's first hits are looked for among this many rows of a kind's title order;
#: fewer hits there (the term is sparse in this kind) fall back to the match set.
WINDOW = 5000
#: On PostgreSQL a narrow scope (a rep) filters a kind's matches of a rare term by the
#: stored owner from this many on (:func:`_owner_walk_hits`) rather than testing visibility
#: on each: a probe costs ~40 µs there at scale 1.0 (a few µs on SQLite, which always probes).
OWNER_FILTER_IDS = 300
#: A wide scope reading a term's match set tests visibility on this many of its hits first
#: (in the page's order), then on batches sized by the share found (:func:`_probe_ids`).
PROBE_BATCH = 64
#: A common term sparse in a kind's window sorts at most this many of the kind's matches
#: to probe in order before it filters the whole match set in SQL (:func:`_probed_in_order`).
PROBE_MAX = 4096


def _key() -> Any:
    """The title key in code-point order: the order of ``search_entry_order_idx``
    (PostgreSQL: ``COLLATE "C"``, so the order and the prefix range need no locale)."""
    return Collate(F("title_key"), "C") if connection.vendor == "postgresql" else F("title_key")


def _prefix_q(prefix: str) -> Q:
    """Titles starting with ``prefix``: a range of the title order (an index range scan)."""
    return Q(key__gte=prefix, key__lt=prefix + "\U0010ffff")


def _contains_q(parsed: ParsedQuery) -> Q:
    """Every term of ``parsed`` in the row's text, tested on the row (``instr``/``strpos``):
    for rows found another way, so neither FTS5 nor the trigram index is consulted."""
    cond = Q()
    for term in [*parsed.substrings, *parsed.residual]:
        cond &= Q(GreaterThan(StrIndex("text", Value(term)), 0))
    return cond


def _match_count(parsed: ParsedQuery) -> int:
    """How many index rows match the terms (all kinds), counted up to :data:`COMMON_MATCHES`
    (one query, which stops counting there: FTS5 streams its matches; PostgreSQL reads the
    trigram index for the rarest term)."""
    if connection.vendor == "sqlite":
        match = " AND ".join('"' + term.replace('"', '""') + '"' for term in parsed.substrings)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM (SELECT rowid FROM search_entry_fts WHERE search_entry_fts MATCH %s LIMIT %s)",
                [match, COMMON_MATCHES],
            )
            return int(cursor.fetchone()[0])
    return SearchEntry.objects.filter(_match_q(parsed)).values("pk")[:COMMON_MATCHES].count()


def _owner_walk_hits(
    user: Any, kind: str, parsed: ParsedQuery, needle: str, n: int, owners: set[int], common: bool
) -> list[SearchEntry] | None:
    """The first ``n`` hits of ``kind`` for a scope of a few ``owners`` (a rep; see
    :func:`_first_hits`): one statement, whose candidates are a ``UNION ALL`` of walks each
    stopped at ``n``, merged in the page's order and cut at ``n``:

    * for a rare term, the index's matches of the kind whose stored owner is in the scope
      (a column test on each match, where a visibility probe per match cost ~40 µs);
    * for a short term alone or a common one, per owner, the owner's rows of the kind in
      title order (``search_entry_owner_idx``, the owner stored on the row): the prefix
      range, and for a common term the rest of the owner's rows tested with
      ``instr``/``strpos`` — bounded by the page's limit and at worst the owner's own rows,
      whatever the size of the table or of the match set;
    * once, the rows the scope reads through something else than its owners (shares,
      pools, accounts reached through the work): the kind's readable rows whose owner is
      outside the scope (``readable_rows``, as ids: ``policy.in_rows``; a rep's are few),
      looked up by id.

    The ``n`` rows kept then pass the kind's visibility probe (``readable_rows``, the one
    policy; compiled once, tested on ``n`` rows), so the stored owner only decides where a
    row is looked for: a stale one could hide a row, never show one. The services keep it
    current (``search.services.index_record``, followers included); tests check it after
    every reassignment path. ``None``: the kind is not registered for visibility.
    """
    model = model_for_kind(kind)
    registration = registration_for_kind(kind)
    if model is None or registration is None:
        return None
    probe_rows = readable_rows(user, model, probe=True)
    listed = readable_rows(user, model)
    if probe_rows is None or listed is None:
        return None
    rows: QuerySet[SearchEntry] = SearchEntry.objects.filter(kind=kind).alias(key=_key())
    prefix = _prefix_q(parsed.prefix or needle) if (parsed.prefix or needle) else Q(pk__in=[])
    # a short term alone: its title range; a common one: every term on the row; a rare one:
    # the index's matches (few: filtered by the stored owner, sorted)
    term = prefix if parsed.prefix else (_contains_q(parsed) if common else _match_q(parsed))
    tier: Any = Value(0) if parsed.prefix else Case(When(prefix, then=Value(0)), default=Value(1))
    arms: list[QuerySet[SearchEntry]] = []
    if not parsed.prefix and not common:
        arms.append(rows.filter(term, owner_id__in=owners))
    for owner in sorted(owners) if parsed.prefix or common else []:
        mine = rows.filter(owner_id=owner)
        if parsed.prefix:
            arms.append(mine.filter(term))
        else:  # the prefix range, then the owner's other rows in title order
            arms.append(mine.filter(prefix, term))
            arms.append(mine.filter(term).exclude(prefix))
    # the readable rows whose owner is outside the scope, looked up by id (so the term must
    # not be an index range here: PostgreSQL would walk the term's whole title range once per
    # id, the plan that timed out at scale 1)
    beyond = listed.exclude(**{f"{registration.owner}__in": owners}).order_by().values("pk")
    others = rows.filter(in_rows("object_id", beyond)).exclude(owner_id__in=owners)
    if parsed.prefix:
        # read the ids only when some title of another owner starts with the term (most kinds
        # have none: surnames do not start company names), a one-time test of the range
        elsewhere = rows.filter(prefix).exclude(owner_id__in=owners)
        starts = Q(Exact(StrIndex("title_key", Value(parsed.prefix)), 1))
        others = others.filter(starts, Exists(elsewhere.values("pk")))
    else:
        others = others.filter(term)
    arms.append(others)
    parts: list[str] = []
    params: list[Any] = []
    for i, arm in enumerate(arms):
        ordered = arm.annotate(tier=tier).order_by("tier", "key", "object_id")
        sql, arm_params = ordered.values_list("id", "title_key", "object_id", "tier")[:n].query.sql_with_params()
        parts.append(f"SELECT a{i}.* FROM ({sql}) a{i}")  # noqa: S608 (compiled querysets; values are parameters)
        params.extend(arm_params)
    collate = ' COLLATE "C"' if connection.vendor == "postgresql" else ""
    page = RawSQL(  # noqa: S611 (the arms above, compiled; values are parameters)
        f"SELECT id FROM (SELECT * FROM ({' UNION ALL '.join(parts)}) u "  # noqa: S608
        f"ORDER BY tier, title_key{collate}, object_id LIMIT {int(n)}) p",
        params,
    )
    probe = Probe(probe_rows.filter(pk=OuterRef("object_id")))
    fields = ("kind", "object_id", "title", "subtitle", "title_key")
    found = rows.filter(Q(pk__in=page), probe).annotate(tier=tier).order_by("tier", "key", "object_id")
    return list(found.only(*fields))


def _ordered_matches(parsed: ParsedQuery, needle: str, kinds: list[str]) -> dict[str, list[int]]:
    """The search-row ids matching a rare term (fewer than :data:`COMMON_MATCHES`), per
    kind, in the page's order: titles starting with ``needle`` first, then title key in
    code-point order (what ``COLLATE "C"`` and SQLite's ``BINARY`` compare), then record id.

    One statement for every kind, sorted here: a kind with no match costs no statement, and
    no kind filter meets the text index (PostgreSQL, misjudging a rare term's matches, ANDed
    the trigram bitmap with the kind's 200,000 rows: 15 ms for 6 matches)."""
    fetched = SearchEntry.objects.filter(_match_q(parsed)).values_list("id", "kind", "object_id", "title_key")
    out: dict[str, list[int]] = {kind: [] for kind in kinds}
    for pk, kind, _, _ in sorted(fetched, key=lambda r: (not (needle and r[3].startswith(needle)), r[3], r[2])):
        if kind in out:
            out[kind].append(pk)
    return out


def _probe_ids(
    ordered: QuerySet[SearchEntry], ids: list[int], visible: Q, n: int, *, batch: int = 0
) -> list[SearchEntry]:
    """The first ``n`` rows of ``ids`` (search-row ids in the order of ``ordered``) that pass
    ``visible``, testing visibility batch by batch in that order, so a scope that reads a
    good share of the matches (a department, the administrator) tests a few dozen, not every
    match. The first batch holds ``batch`` ids (:data:`PROBE_BATCH` by default); each next
    one what the share found so far says the missing hits need, plus a quarter, at least as
    many as before (four times as many after a batch with no hit). No statement for no ids.
    """
    found: list[SearchEntry] = []
    start, size = 0, batch or PROBE_BATCH
    while start < len(ids) and len(found) < n:
        chunk = ids[start : start + size]
        found.extend(ordered.filter(visible, pk__in=chunk)[: n - len(found)])
        start += len(chunk)
        if found:  # hits per id so far: ids the missing hits need, a quarter more
            size = max(size, -(-(n - len(found)) * start * 5 // (4 * len(found))))
        else:
            size *= 4
    return found


def _probed_in_order(ordered: QuerySet[SearchEntry], visible: Q, n: int) -> list[SearchEntry]:
    """The first ``n`` rows of ``ordered`` (matching rows of one kind, in the page's order)
    that pass ``visible``: one statement sorts the match set without any visibility test
    and returns the first :data:`PROBE_MAX` ids, which :func:`_probe_ids` tests in order.
    When they run out before ``n`` hits and there were more, the whole match set is
    filtered in SQL. Same rows, same order, whichever way they are found."""
    ids = list(ordered.values_list("pk", flat=True)[:PROBE_MAX])
    found = _probe_ids(ordered, ids, visible, n)
    if len(found) >= n or len(ids) < PROBE_MAX:
        return found
    return list(ordered.filter(visible)[:n])


def _first_hits(
    user: Any, kind: str, parsed: ParsedQuery, needle: str, n: int, matches: int, sorted_ids: list[int] | None
) -> list[SearchEntry]:
    """The first ``n`` rows of ``kind`` matching ``parsed`` that ``user`` may read.

    ``matches`` is the term's index matches over all kinds, counted up to
    :data:`COMMON_MATCHES` (:func:`_match_count`); ``sorted_ids``, for a rare term, the
    kind's matching search rows in the page's order (:func:`_ordered_matches`).

    The order is fixed: titles starting with ``needle`` (the folded term; an exact title
    first), then the other hits, each by title key (code-point order), then record id —
    the same rows whichever plan finds them:

    * a short term alone (one character, two Latin letters): the titles starting with it,
      walked in the order of the title index (a narrow scope: per owner);
    * a rare term (fewer than :data:`COMMON_MATCHES` matches): its index matches, sorted
      (a few thousand at most), visibility tested in that order (:func:`_probe_ids`: all at
      once for a narrow scope, which reads few of them; batch by batch for a wide one); on
      PostgreSQL a narrow scope filters :data:`OWNER_FILTER_IDS` or more by the stored owner;
    * a common term, narrow scope: each owner's rows in title order, tested row by row
      (:func:`_owner_walk_hits`);
    * a common term, wide scope: the prefix range, then the kind's title order, walked and
      stopped at ``n`` hits, within its first :data:`WINDOW` rows (beyond: the match set,
      probed in its order).
    """
    owners = visible_owner_ids(user)
    common = matches >= COMMON_MATCHES
    # a narrow scope (a rep; an assistant: a few reps) walks each owner's rows; a wide one
    # (a department) the kind's title order, where its share of the rows makes hits frequent
    if sorted_ids is not None and not sorted_ids:
        return []  # a rare term with no match in this kind
    narrow = owners if owners is not None and not wide_scope(user) else None  # the scope's few owners
    owner_filter = sorted_ids is not None and len(sorted_ids) >= OWNER_FILTER_IDS and connection.vendor == "postgresql"
    if narrow is not None and (parsed.prefix or common or owner_filter):
        walked = _owner_walk_hits(user, kind, parsed, needle, n, narrow, common)
        return [] if walked is None else walked
    visibility = _visibility(user, kind, broad=bool(parsed.prefix) or common)
    if visibility is None:
        return []
    visible, starts_from_visible = visibility
    fields = ("kind", "object_id", "title", "subtitle", "title_key")
    rows: QuerySet[SearchEntry] = SearchEntry.objects.filter(kind=kind).alias(key=_key()).only(*fields)
    order = ("key", "object_id")
    if parsed.prefix:
        return list(rows.filter(_prefix_q(parsed.prefix), visible).order_by(*order)[:n])
    prefix = _prefix_q(needle) if needle else Q(pk__in=[])
    ranked = rows.alias(tier=Case(When(prefix, then=Value(0)), default=Value(1)))
    if not common:
        if sorted_ids is not None:
            return _probe_ids(
                # a rep reads few of the matches: every one in one statement
                ranked.order_by("tier", *order),
                sorted_ids,
                visible,
                n,
                batch=len(sorted_ids) if narrow is not None else 0,
            )
        return list(ranked.filter(_match_q(parsed), visible).order_by("tier", *order)[:n])
    contains = _contains_q(parsed)
    if starts_from_visible:
        return list(ranked.filter(contains, visible).order_by("tier", *order)[:n])
    found: list[SearchEntry] = list(rows.filter(prefix, contains, visible).order_by(*order)[:n]) if needle else []
    if len(found) >= n:
        return found
    rest = rows.filter(contains, visible).exclude(prefix)
    bound = list(rows.order_by(*order).values_list("title_key", "object_id")[WINDOW - 1 : WINDOW])
    if bound:  # the window: rows up to the WINDOW-th of the title order
        last_key, last_id = bound[0]
        rest = rest.filter(Q(key__lt=last_key) | Q(key=last_key, object_id__lte=last_id), Q(key__lte=last_key))
    more = list(rest.order_by(*order)[: n - len(found)])
    if len(more) >= n - len(found) or not bound:
        return found + more
    # sparse in this kind although common overall: from the match set, probed in its order
    return _probed_in_order(ranked.filter(_match_q(parsed)).order_by("tier", *order), visible, n)


def search(user: Any, q: str, *, kinds: list[str] | None = None, limit: int = DEFAULT_LIMIT) -> list[SearchGroup]:
    """Records ``user`` may read matching ``q``, grouped by kind (in registration order:
    accounts, contacts, opportunities, leads), at most ``limit`` per kind; ``more`` says a
    kind has further hits (nothing counts them all).

    Deterministic: per kind, titles starting with the term (an exact title first), then the
    other hits, each by title and record id (see :func:`_first_hits` for how each kind of
    term is read without scanning its matches). At most one query to classify the term and
    one to three per kind, whatever the data.
    """
    parsed = parse_query(q)
    if parsed.empty:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    wanted = [k for k in searchable_kinds() if kinds is None or k in kinds]
    needle = fold((q or "")[:SEARCH_MAX_LENGTH]).strip()[:TITLE_MAX]
    matches = _match_count(parsed) if parsed.substrings else 0
    ordered = _ordered_matches(parsed, needle, wanted) if parsed.substrings and matches < COMMON_MATCHES else None
    groups: list[SearchGroup] = []
    for kind in wanted:
        rows = _first_hits(user, kind, parsed, needle, limit + 1, matches, None if ordered is None else ordered[kind])
        if not rows:
            continue
        registration = registration_for_kind(kind)
        assert registration is not None
        hits = [
            SearchHit(
                kind=kind,
                record_id=e.object_id,
                title=e.title,
                subtitle=e.subtitle,
                url=reverse(registration.detail_url, args=[e.object_id]),
            )
            for e in rows[:limit]
        ]
        groups.append(
            SearchGroup(
                kind=kind,
                label=str(capfirst(registration.model._meta.verbose_name_plural)),
                icon=registration.icon,
                hits=hits,
                more=len(rows) > limit,
                list_url=reverse(registration.list_url) + "?" + urlencode({"q": q.strip()[:SEARCH_MAX_LENGTH]}),
            )
        )
    return groups
