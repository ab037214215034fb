"""Keyset ("cursor") pagination for big lists: deep pages cost the same as the first one.

``keyset_page(qs, cursor=…, limit=…)`` reads the ordering already on ``qs`` (plain
``"field"`` / ``"-field"`` names or ``F("field").asc(nulls_last=True)``-style expressions),
adds ``id`` as the final tie-breaker when missing, and returns the page plus an opaque
``next_cursor``: the sort values of the last row, so the next page is "rows after these
values" (``WHERE (a, b, id) > (…)`` spelled out per column), served by the same index as
the sort. No ``COUNT(*)`` is needed.

Plain field names are expected to be NOT NULL columns; nullable sort columns must state
where their NULLs go (``nulls_last``/``nulls_first``) so both databases agree.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.db.models import F, Model, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from salesflow.core.errors import ValidationFailed

M = TypeVar("M", bound=Model)

CURSOR_MAX_LENGTH = 1000
_INT_MAX = 2**63 - 1


@dataclass(frozen=True)
class SortKey:
    field: str
    desc: bool
    nulls_last: bool

    @property
    def signature(self) -> str:
        return ("-" if self.desc else "") + self.field + ("" if self.nulls_last else "~nf")


def sort_keys(qs: QuerySet[Any]) -> list[SortKey]:
    """The ordering of ``qs`` as sort keys, ending with the primary key."""
    keys: list[SortKey] = []
    for item in qs.query.order_by:
        if isinstance(item, str):
            desc = item.startswith("-")
            name = item.lstrip("-")
            # An unstated NULL position: treat as PostgreSQL does (NULLs are the largest).
            keys.append(SortKey(name, desc, nulls_last=not desc))
        elif isinstance(item, OrderBy) and isinstance(item.expression, F):
            nulls_last = bool(item.nulls_last) or (not item.nulls_first and not item.descending)
            keys.append(SortKey(item.expression.name, bool(item.descending), nulls_last))
        else:  # pragma: no cover - a programming error, not user input
            raise TypeError(f"keyset pagination cannot order by {item!r}")
    if not keys or keys[-1].field not in ("id", "pk"):
        desc = keys[-1].desc if keys else False
        keys.append(SortKey("id", desc, nulls_last=True))
    return keys


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"dec": str(value)}
    return value


def _decode_value(raw: Any) -> Any:
    if raw is None or isinstance(raw, bool):
        if isinstance(raw, bool):
            raise ValueError("bool")
        return None
    if isinstance(raw, int):
        if not -_INT_MAX <= raw <= _INT_MAX:
            raise ValueError("int range")
        return raw
    if isinstance(raw, str):
        return raw
    if isinstance(raw, dict) and len(raw) == 1:
        kind, text = next(iter(raw.items()))
        if not isinstance(text, str):
            raise ValueError("type")
        if kind == "dt":
            parsed = parse_datetime(text)
            if parsed is None or parsed.tzinfo is None:
                raise ValueError("datetime")
            return parsed
        if kind == "d":
            day = parse_date(text)
            if day is None:
                raise ValueError("date")
            return day
        if kind == "dec":
            number = Decimal(text)
            if not number.is_finite():
                raise ValueError("decimal")
            return number
    raise ValueError("type")


def encode_cursor(keys: list[SortKey], row: Model) -> str:
    payload = {"k": [k.signature for k in keys], "v": [_encode_value(_value(row, k.field)) for k in keys]}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        _("The input is not valid."),
        field_errors={"cursor": [_("This cursor is not valid for this list; start again from the first page.")]},
    )


def decode_cursor(keys: list[SortKey], token: str) -> list[Any]:
    """The sort values stored in ``token``; ``ValidationFailed`` on ``cursor`` when it is
    malformed or was made for another sort order."""
    if len(token) > CURSOR_MAX_LENGTH:
        raise _invalid_cursor()
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(payload, dict) or payload.get("k") != [k.signature for k in keys]:
            raise ValueError("sort")
        values = payload.get("v")
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("values")
        decoded = [_decode_value(v) for v in values]
    except (ValueError, TypeError, binascii.Error, InvalidOperation, UnicodeDecodeError, RecursionError):
        raise _invalid_cursor() from None
    if decoded[-1] is None:  # the primary key is never NULL
        raise _invalid_cursor()
    return decoded


def _attr(field: str) -> str:
    return "pk" if field == "id" else field


def _value(row: Model, field: str) -> Any:
    """The value of a sort field on ``row``, following relations (``pipeline__position``)."""
    value: Any = row
    for part in _attr(field).split("__"):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def after_q(keys: list[SortKey], values: list[Any]) -> Q:
    """Rows strictly after ``values`` in the order of ``keys``."""
    condition = Q(pk__in=[])
    equal_so_far = Q()
    for key, value in zip(keys, values, strict=True):
        if value is None:
            greater = Q(pk__in=[]) if key.nulls_last else Q(**{f"{key.field}__isnull": False})
            equal = Q(**{f"{key.field}__isnull": True})
        else:
            greater = Q(**{f"{key.field}__{'lt' if key.desc else 'gt'}": value})
            if key.nulls_last:
                greater |= Q(**{f"{key.field}__isnull": True})
            equal = Q(**{key.field: value})
        condition |= equal_so_far & greater
        equal_so_far &= equal
    first, value = keys[0], values[0]
    if value is not None:
        # The same rows, with the first column's bound stated on its own: an ``OR`` of
        # ranges is not an index range, so without it the sort index is walked from its
        # start (SQLite, PostgreSQL alike) instead of from the cursor.
        bound = Q(**{f"{first.field}__{'lte' if first.desc else 'gte'}": value})
        if first.nulls_last:
            bound |= Q(**{f"{first.field}__isnull": True})
        condition = bound & condition
    return condition


def keyset_page(qs: QuerySet[M], *, cursor: str | None, limit: int, offset: int = 0) -> tuple[list[M], str | None]:
    """One page of ``qs`` (already ordered): the ``limit`` rows after ``cursor`` (or from
    ``offset`` when there is no cursor) and the cursor of the next page (``None`` on the last)."""
    keys = sort_keys(qs)
    order = list(qs.query.order_by)
    if len(keys) > len(order):
        order.append("-id" if keys[-1].desc else "id")
    ordered = qs.order_by(*order)
    if cursor:
        ordered = ordered.filter(after_q(keys, decode_cursor(keys, cursor)))
        offset = 0
    rows = list(ordered[offset : offset + limit + 1])
    items = rows[:limit]
    next_cursor = encode_cursor(keys, items[-1]) if len(rows) > limit and items else None
    return items, next_cursor


#: The API counts at most this many matching rows: above it, ``count`` is null (as the web
#: lists show "10,000+"). A department manager's account list tests each of 200,000
#: accounts against the "access follows the work" rule; counting them all took 2.8 s of CPU
#: at bench scale 1.0, counting to the cap a few milliseconds.
API_COUNT_CAP = 10_000


def api_page(
    qs: QuerySet[M], *, cursor: str | None, limit: int, offset: int, floor: QuerySet[M] | None = None
) -> dict[str, Any]:
    """The API's list body ``{"count", "items", "next_cursor"}``.

    Without a cursor: the page at ``offset`` and the total ``count``. The guarantee: ``count``
    is exact when at most ``API_COUNT_CAP`` rows match and null when more do — never a wrong
    number. The count reads at most ``API_COUNT_CAP + 1`` rows of ``qs`` (one query). With a
    cursor: the page after it and ``count: null`` (following cursors never counts, so deep
    pages stay cheap).

    ``floor``: optional rows of ``qs`` that are cheap to count — they must be a *subset* of
    ``qs`` (the same filters over the rows owned by the reader's owner scope, read from an
    owner index, without the visibility probes). When the floor alone has more than
    ``API_COUNT_CAP`` rows, so has ``qs``, and ``count`` is null without counting ``qs``
    (whose "access follows the work" probes cost a department manager a probe per row up to
    the cap); otherwise ``qs`` is counted as above. A floor that is not a subset could turn
    an exact count into null, never the reverse.
    """
    if cursor and offset:
        raise ValidationFailed(
            _("The input is not valid."), field_errors={"offset": [_("Leave out offset when you send a cursor.")]}
        )
    items, next_cursor = keyset_page(qs, cursor=cursor, limit=limit, offset=offset)
    count: int | None = None
    if not cursor:
        count = capped_count(qs, floor=floor)
    return {"count": count, "items": items, "next_cursor": next_cursor}


def capped_count(qs: QuerySet[Any], *, floor: QuerySet[Any] | None = None) -> int | None:
    """How many rows ``qs`` has when at most ``API_COUNT_CAP``, else ``None`` (see
    :func:`api_page` for ``floor``, a cheap subset that answers "above the cap" alone)."""
    cap = API_COUNT_CAP
    if floor is not None and floor.order_by()[: cap + 1].count() > cap:
        return None
    count = qs.order_by()[: cap + 1].count()
    return None if count > cap else count
