"""Writing many new records at once (imports): the rows, their search-index rows and their
"created" audit events, each with a fixed number of statements per call.

It lives in the search app because it writes search rows and the core sits below search
(the layer contract); record apps above it (parties, leads) call it from their
``*_create_many`` services after their own checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.db import models

from salesflow.core.audit import record_events
from salesflow.search.services import index_new_records

M = TypeVar("M", bound=models.Model)


def bulk_insert(
    *,
    actor: Any,
    objs: Sequence[M],
    verb: str,
    data: Callable[[M], dict[str, Any] | None],
    related: Callable[[M], Iterable[models.Model | None]] | None = None,
    batch_size: int = 500,
) -> list[M]:
    """Insert ``objs`` (unsaved, one model) with ``bulk_create``, index them for search and
    audit ``verb`` for each (``data(obj)`` as the payload, also shown on the timelines of
    ``related(obj)``). Returns the saved objects, primary keys set, in order. Call inside
    the service's transaction."""
    if not objs:
        return []
    model = type(objs[0])
    saved = model._default_manager.bulk_create(objs, batch_size=batch_size)
    index_new_records(saved)
    record_events(
        actor=actor,
        verb=verb,
        items=[(obj, data(obj)) for obj in saved],
        related=related,  # type: ignore[arg-type]
    )
    return saved
