"""A registry of "which rows of this kind may this user read", filled by the apps.

The core knows no business entity, yet timelines (and later search, exports, reports)
must drop what the reader may not see. Each app registers, in its ``ready()``, the
queryset function of the visibility policy for every kind it owns; readers here ask the
registry and filter with a subquery, one per kind, never one query per row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet

ReadableRows = Callable[[Any], QuerySet[Any]]

_READABLE: dict[type[models.Model], ReadableRows] = {}


def register_readable(model: type[models.Model], rows: ReadableRows) -> None:
    """Declare ``rows(user)``: the rows of ``model`` that ``user`` may read."""
    _READABLE[model] = rows


def readable_rows(user: Any, model: type[models.Model]) -> QuerySet[Any] | None:
    """The readable rows of ``model`` for ``user``, or ``None`` when the kind is not registered."""
    rows = _READABLE.get(model)
    return None if rows is None else rows(user)


def readable_targets_q(user: Any, *, type_field: str, id_field: str, deleted: bool = False) -> Q:
    """A filter keeping rows whose generic target (``type_field``/``id_field``) ``user`` may read.

    One ``IN (subquery)`` per registered kind; kinds nobody registered (configuration,
    users) stay visible. An unrestricted queryset (administrators) adds no subquery.
    With ``deleted``, rows about records that no longer exist are kept too (their
    trace on a timeline, e.g. "deleted the opportunity", for those responsible for it).
    """
    registered: list[int] = []
    cond = Q()
    for model, rows_for in _READABLE.items():
        ct = ContentType.objects.get_for_model(model)
        registered.append(ct.pk)
        rows = rows_for(user)
        if not rows.query.where:
            cond |= Q(**{type_field: ct.pk})
        else:
            readable = Q(**{f"{id_field}__in": rows.values("pk")})
            if deleted:
                readable |= Q(~Exists(model._default_manager.filter(pk=OuterRef(id_field))))
            cond |= Q(readable, **{type_field: ct.pk})
    return cond | ~Q(**{f"{type_field}__in": registered})
