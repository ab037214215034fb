"""Candidate duplicate pairs of a list of rows (a file to be imported): inside the list and,
optionally, against the database. Used by ``salesflow duplicates``; the same matcher."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from salesflow.dedupe.configs import party_config
from salesflow.dedupe.engine import dedupe_rows
from salesflow.dedupe.matching import DEFAULT_MIN_SCORE, RecordKind, find_candidates_bulk, party_row


@dataclass(frozen=True)
class FilePair:
    """``id_a``/``id_b``: the rows' ``id`` values (data row numbers from 1 without one) or,
    for a database record, ``kind:pk``."""

    id_a: str
    id_b: str
    score: float
    reasons: tuple[str, ...]


def row_ids(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each row's ``id`` (stripped) or its 1-based position when it has none."""
    return [str(row.get("id") or "").strip() or str(n) for n, row in enumerate(rows, start=1)]


def file_duplicate_pairs(
    kind: RecordKind,
    rows: Sequence[Mapping[str, Any]],
    *,
    against_db: bool = False,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[FilePair]:
    """Pairs inside ``rows`` (then, with ``against_db``, row–record pairs), best first within
    each part. ``rows`` use the record's field names (as mapped by ``core.columns``)."""
    ids = row_ids(rows)
    engine_rows = [party_row(kind, row) for row in rows]
    pairs = [
        FilePair(ids[p.a], ids[p.b], p.score, p.reasons)
        for p in dedupe_rows(party_config(kind, kind), engine_rows, min_score=min_score)
    ]
    if against_db:
        for row_id, candidates in zip(ids, find_candidates_bulk(kind, rows, min_score=min_score), strict=True):
            pairs.extend(FilePair(row_id, f"{c.kind}:{c.pk}", c.score, c.reasons) for c in candidates)
    return pairs
