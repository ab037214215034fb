"""A registry of "which rows of this kind may this user read", filled by the apps.

The core knows no business entity, yet timelines (and later search, exports, reports)
must drop what the reader may not see. Each app registers, in its ``ready()``, the
queryset function of the visibility policy for every kind it owns; readers here ask the
registry and filter with a subquery, one per kind, never one query per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet

ReadableRows = Callable[[Any], QuerySet[Any]]
CanWrite = Callable[[Any, Any], bool]

_READABLE: dict[type[models.Model], ReadableRows] = {}
_PROBES: dict[type[models.Model], ReadableRows] = {}
_WRITABLE: dict[type[models.Model], CanWrite] = {}
_KINDS: dict[str, type[models.Model]] = {}


def register_readable(model: type[models.Model], rows: ReadableRows, *, probe: ReadableRows | None = None) -> None:
    """Declare ``rows(user)``: the rows of ``model`` that ``user`` may read.

    ``probe(user)`` is the same set written for testing given rows (``filter(pk=…)``, a
    correlated ``EXISTS``) when that form differs from the one a list starts from (a rep's
    accounts: a ``UNION`` to start from, per-row ``EXISTS`` probes to test a few ids).
    """
    _READABLE[model] = rows
    if probe is not None:
        _PROBES[model] = probe


def register_record_kind(kind: str, model: type[models.Model], *, can_write: CanWrite) -> None:
    """Declare a record kind that generic features (tags, attachments, search, bulk actions)
    attach to: its public name (``"account"``, ``"opportunity"``…) and ``can_write(user, obj)``,
    the policy's answer to "may this user change this record". Reading is the kind's
    :func:`register_readable` function, which must be registered too."""
    _KINDS[kind] = model
    _WRITABLE[model] = can_write


def record_kinds() -> dict[str, type[models.Model]]:
    """Every registered record kind, by public name."""
    return dict(_KINDS)


def model_for_kind(kind: str) -> type[models.Model] | None:
    """The model of a registered record kind, or ``None`` for an unknown name."""
    return _KINDS.get(kind)


def kind_of(model: type[models.Model]) -> str | None:
    """The public kind name of ``model`` (or of an instance's class), if registered."""
    for kind, registered in _KINDS.items():
        if registered is model:
            return kind
    return None


def get_record_for_user(user: Any, kind: str, pk: object, *, write: bool = False) -> models.Model:
    """The record ``kind``/``pk`` when ``user`` may read it (and, with ``write``, change it).

    Raises ``Http404`` when the kind is unknown, the id malformed or the record unseen (so
    unseen and missing look the same) and ``Forbidden`` when seen but not writable.
    """
    from django.http import Http404

    from salesflow.core.errors import Forbidden

    model = _KINDS.get(kind)
    if model is None:
        raise Http404
    try:
        pk_int = int(str(pk))
    except (TypeError, ValueError):
        raise Http404 from None
    if not -(2**63) < pk_int < 2**63:
        raise Http404
    rows = readable_rows(user, model, probe=True)
    if rows is None:
        raise Http404
    obj: models.Model | None = rows.filter(pk=pk_int).first()
    if obj is None:
        raise Http404
    if write and not _WRITABLE[model](user, obj):
        raise Forbidden(_forbidden_message())
    return obj


def can_write_record(user: Any, obj: models.Model) -> bool:
    """Whether ``user`` may change ``obj`` (a registered record kind); unknown kinds: no."""
    can_write = _WRITABLE.get(type(obj))
    return bool(can_write and can_write(user, obj))


def _forbidden_message() -> str:
    from django.utils.translation import gettext

    return gettext("You may not change this record.")


def readable_rows(user: Any, model: type[models.Model], *, probe: bool = False) -> QuerySet[Any] | None:
    """The readable rows of ``model`` for ``user``, or ``None`` when the kind is not registered.

    With ``probe``, the form for testing a few given rows (``filter(pk=…)`` or
    ``Exists(….filter(pk=OuterRef(…)))``); the rows are the same.
    """
    rows = (_PROBES.get(model) if probe else None) or _READABLE.get(model)
    return None if rows is None else rows(user)


def readable_targets_q(
    user: Any, *, type_field: str, id_field: str, deleted: bool = False, kinds: Iterable[int] | None = None
) -> Q:
    """A filter keeping rows whose generic target (``type_field``/``id_field``) ``user`` may read.

    One correlated ``EXISTS`` per registered kind, in the kind's probe form: each row (a
    timeline's few dozen events) is checked by primary key. An ``IN (subquery)`` here
    built every visible id of the kind first (PostgreSQL hashes it: a manager's accounts
    with their work-link probes, on every account page). Kinds nobody registered
    (configuration, users) stay visible. An unrestricted queryset (administrators) adds no
    subquery. With ``deleted``, rows about records that no longer exist are kept too (their
    trace on a timeline, e.g. "deleted the opportunity", for those responsible for it).

    ``kinds``: the content-type ids the filtered rows may hold (e.g. read from those rows
    first). Registered kinds outside it get no subquery: rows of such a kind are then dropped,
    never shown unchecked, so a ``kinds`` that misses a kind can only hide rows. Building and
    compiling a probe costs milliseconds of CPU per kind, and a timeline holds a few kinds.
    """
    registered: list[int] = []
    wanted = None if kinds is None else set(kinds)
    cond = Q()
    for model in _READABLE:
        ct = ContentType.objects.get_for_model(model)
        registered.append(ct.pk)
        if wanted is not None and ct.pk not in wanted:
            continue
        rows = readable_rows(user, model, probe=True)
        assert rows is not None
        if not rows.query.where:
            cond |= Q(**{type_field: ct.pk})
        else:
            readable = Q(Exists(rows.filter(pk=OuterRef(id_field))))
            if deleted:
                readable |= Q(~Exists(model._default_manager.filter(pk=OuterRef(id_field))))
            cond |= Q(readable, **{type_field: ct.pk})
    return cond | ~Q(**{f"{type_field}__in": registered})
