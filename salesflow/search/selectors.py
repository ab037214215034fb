"""Reads of the search index: the global search and the hit ids the lists filter on.

One selector, two engines. SQLite matches through the FTS5 ``trigram`` table
``search_entry_fts`` (``rowid IN (… MATCH …)``); PostgreSQL with ``LIKE '%term%'`` on the
folded text, served by a ``pg_trgm`` GIN index. Terms of three characters or more match
as substrings; two-character Chinese terms through their stored bigram token
(``documents.BIGRAM_MARK``); other shorter terms (one character, two Latin letters or
digits) as a prefix of the title when alone, else as a plain substring of the rows the
longer terms found. Visibility is applied in SQL: one ``IN (subquery)`` per
kind from the readable-rows registry of ``core.visibility``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import capfirst

from salesflow.core.normalize import normalize_phone
from salesflow.core.schemas import SEARCH_MAX_LENGTH
from salesflow.core.visibility import model_for_kind, readable_rows
from salesflow.search.documents import BIGRAM_MARK, fold, is_cjk, registration_for_kind, searchable_kinds
from salesflow.search.models import SearchEntry
from salesflow.users.permissions import visible_owner_ids
from salesflow.users.policy import wide_scope

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


def _visible_q(user: Any, kinds: list[str], *, broad: bool = False) -> Q | None:
    """Rows of ``kinds`` whose record exists and ``user`` may read it (``None``: nothing).

    Per kind, a correlated ``EXISTS`` on the kind's probe rows (``users.policy``): the
    database checks each hit by primary key and stops at the limit instead of
    materialising every visible id first (a department's, or a rep's accounts reached
    through the work) — right for a term with few hits, and for a wide scope, which finds
    its rows among the first hits.

    ``broad`` (a one- or two-letter prefix, matching thousands of titles) with a narrow
    scope (a rep sees 0.5% of the records): ``object_id IN (the kind's visible rows)``,
    the form a list starts from, so the rep's few thousand ids are read once instead of
    probing hit after hit until 20 visible ones turn up (a one-character surname: 2,900
    probes, 0.4 s on PostgreSQL at scale 1 on a busy machine; a common one, far more).
    """
    start = broad and visible_owner_ids(user) is not None and not wide_scope(user)
    cond: Q | None = None
    for kind in kinds:
        model = model_for_kind(kind)
        rows = readable_rows(user, model, probe=not start) if model is not None else None
        if rows is None:
            continue
        if start:
            part = Q(object_id__in=rows.order_by().values("pk"), kind=kind)
        else:
            part = Q(Exists(rows.filter(pk=OuterRef("object_id")).values("pk")), kind=kind)
        cond = part if cond is None else cond | part
    return cond


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


def search(user: Any, q: str, *, kinds: list[str] | None = None, limit: int = DEFAULT_LIMIT) -> list[SearchGroup]:
    """Records ``user`` may read matching ``q``, grouped by kind (in registration order:
    accounts, contacts, opportunities, leads), at most ``limit`` per kind; ``more`` says a
    kind has further hits. One query per kind; exact title matches first, then prefixes."""
    parsed = parse_query(q)
    if parsed.empty:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    wanted = [k for k in searchable_kinds() if kinds is None or k in kinds]
    match = _match_q(parsed)
    needle = fold((q or "")[:SEARCH_MAX_LENGTH]).strip()
    groups: list[SearchGroup] = []
    for kind in wanted:
        visible = _visible_q(user, [kind], broad=bool(parsed.prefix))
        if visible is None:
            continue
        rows = list(
            SearchEntry.objects.filter(match, visible).only("kind", "object_id", "title", "subtitle", "title_key")[
                : limit + 1
            ]
        )
        if not rows:
            continue
        rows.sort(key=lambda e: (e.title_key != needle, not e.title_key.startswith(needle), e.title_key, e.object_id))
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
