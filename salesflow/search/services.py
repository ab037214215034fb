"""Writes to the search index. The owning apps' services call these in their transaction.

``index_record(obj)`` after a create or update, ``unindex_record(obj)`` before a delete;
``reindex()`` (re)builds the rows of every registered kind in batches (the
``search_reindex`` command, the demo and the benchmark generator call it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from django.db import models, transaction

from salesflow.search.documents import Registration, entry_values, registration_for, registrations
from salesflow.search.fts import begin_bulk_rebuild, end_bulk_rebuild
from salesflow.search.models import SearchEntry

BATCH = 2000


def index_record(obj: models.Model) -> None:
    """Create or refresh ``obj``'s search row (no-op for kinds nobody registered).

    The record is re-read with the relations its document shows (one query), so a renamed
    account shows in the rows of its contacts and deals: when a title or the owner changes,
    the records that follow it (``register_search_follower``) are re-indexed too, so a
    reassigned account's contacts carry its new owner (``SearchEntry.owner_id``).
    """
    registration = registration_for(type(obj))
    if registration is None or obj.pk is None:
        return
    fresh = registration.queryset().filter(pk=obj.pk).first()
    if fresh is None:
        return
    values = entry_values(registration, fresh)
    rows = SearchEntry.objects.filter(kind=registration.kind, object_id=obj.pk)
    old = rows.values_list("title", "owner_id").first()
    if old is None:
        SearchEntry.objects.create(**values)
        return
    rows.update(**values)
    if old != (values["title"], values["owner_id"]):
        # followers show the title, and may carry the owner (a contact: its account's)
        for follower, fk_field in registration.followers:
            follower_registration = registration_for(follower)
            if follower_registration is not None:
                _reindex_rows(follower_registration, follower_registration.queryset().filter(**{fk_field: obj.pk}))


def reindex_records(model: type[models.Model], ids: Sequence[int]) -> None:
    """Rewrite the search rows of the ``model`` records ``ids`` (existing ones; no-op for
    kinds nobody registered): for writers that move records another way than through their
    services (a merge re-points the loser's contacts and deals to the survivor, whose name
    and owner their rows carry). A fixed number of statements per ``BATCH`` records."""
    registration = registration_for(model)
    if registration is not None and ids:
        _reindex_rows(registration, registration.queryset().filter(pk__in=list(ids)))


def index_new_records(objs: Sequence[models.Model]) -> None:
    """Bulk form of :func:`index_record` for records just inserted (imports): their search
    rows are written with one read and one insert per ``BATCH`` records. Only for new
    records (no follower has their title yet); objects of kinds nobody registered are
    skipped."""
    by_model: dict[type[models.Model], list[int]] = {}
    for obj in objs:
        if obj.pk is not None:
            by_model.setdefault(type(obj), []).append(int(obj.pk))
    for model, ids in by_model.items():
        registration = registration_for(model)
        if registration is not None:
            _reindex_rows(registration, registration.queryset().filter(pk__in=ids))


def unindex_record(obj: models.Model) -> None:
    """Remove the search row of ``obj`` (call before deleting it: the id is still set)."""
    registration = registration_for(type(obj))
    key = obj.pk
    if registration is None or key is None:
        return
    SearchEntry.objects.filter(kind=registration.kind, object_id=key).delete()


def _reindex_rows(registration: Registration, qs: Any, *, batch: int = BATCH) -> int:
    """Replace the rows of the records in ``qs``, ``batch`` records at a time, by id."""
    done = 0
    last = 0
    while True:
        chunk = list(qs.filter(pk__gt=last).order_by("pk")[:batch])
        if not chunk:
            return done
        ids = [o.pk for o in chunk]
        SearchEntry.objects.filter(kind=registration.kind, object_id__in=ids).delete()
        SearchEntry.objects.bulk_create([SearchEntry(**entry_values(registration, o)) for o in chunk])
        done += len(chunk)
        last = ids[-1]


def reindex(
    kinds: list[str] | None = None,
    *,
    batch: int = BATCH,
    progress: Callable[[str, int, float], None] | None = None,
) -> dict[str, int]:
    """Rebuild the rows of ``kinds`` (default: every registered kind) from their records.

    Each kind's old rows are deleted and the new ones written in batches of ``batch``,
    one transaction per kind. Returns the number of rows per kind.
    """
    if kinds is None:
        return _rebuild_all(batch=batch, progress=progress)
    counts: dict[str, int] = {}
    for registration in registrations():
        if registration.kind not in kinds:
            continue
        started = time.perf_counter()
        with transaction.atomic():
            SearchEntry.objects.filter(kind=registration.kind).delete()
            done = 0
            last = 0
            qs = registration.queryset()
            while True:
                chunk = list(qs.filter(pk__gt=last).order_by("pk")[:batch])
                if not chunk:
                    break
                SearchEntry.objects.bulk_create([SearchEntry(**entry_values(registration, o)) for o in chunk])
                done += len(chunk)
                last = chunk[-1].pk
        counts[registration.kind] = done
        if progress:
            progress(registration.kind, done, time.perf_counter() - started)
    return counts


def _write_kind(registration: Registration, batch: int) -> int:
    done = 0
    last = 0
    qs = registration.queryset()
    while True:
        chunk = list(qs.filter(pk__gt=last).order_by("pk")[:batch])
        if not chunk:
            return done
        SearchEntry.objects.bulk_create([SearchEntry(**entry_values(registration, o)) for o in chunk])
        done += len(chunk)
        last = chunk[-1].pk


@transaction.atomic
def _rebuild_all(*, batch: int, progress: Callable[[str, int, float], None] | None) -> dict[str, int]:
    """Every kind at once: rows written without the row-by-row full-text upkeep, then the
    FTS5 table (SQLite) or the trigram index (PostgreSQL) built in one pass."""
    counts: dict[str, int] = {}
    begin_bulk_rebuild()
    for registration in registrations():
        started = time.perf_counter()
        counts[registration.kind] = _write_kind(registration, batch)
        if progress:
            progress(registration.kind, counts[registration.kind], time.perf_counter() - started)
    started = time.perf_counter()
    end_bulk_rebuild()
    if progress:
        progress("full-text", sum(counts.values()), time.perf_counter() - started)
    return counts
