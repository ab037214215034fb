"""Helpers shared by the server-rendered views: list parameters, paging, service errors, and the
full-page-or-fragment decision of dual-mode (htmx) list views."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django import forms
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from salesflow.core.errors import ServiceError

M = TypeVar("M", bound=Model)


@dataclass
class Page(Generic[M]):
    """One page of a list without a COUNT(*) (fast on million-row tables).

    ``has_next`` is known by fetching one extra row. Pages reached through a keyset cursor
    (``?after=`` / ``?before=``, see :func:`paginate`) carry the cursors of their first and
    last rows, so the pager links cost the same on page 200 as on page 1.
    """

    object_list: list[M]
    number: int
    per_page: int
    has_next: bool
    more_before: bool | None = None  # known for keyset pages; else "not the first page"
    first_cursor: str | None = None
    last_cursor: str | None = None

    @property
    def has_previous(self) -> bool:
        return self.number > 1 if self.more_before is None else self.more_before

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return max(1, self.number - 1)

    @property
    def next_cursor(self) -> str | None:
        """``?after=`` of the next page (``None``: page by number)."""
        return self.last_cursor if self.has_next else None

    @property
    def previous_cursor(self) -> str | None:
        """``?before=`` of the previous page; ``None`` for page 1, which needs no cursor."""
        return self.first_cursor if self.has_previous and self.number > 2 else None

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.object_list)

    def __iter__(self) -> Any:
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


class PageNumber(int):
    """A 1-based page number that may carry a keyset cursor: ``after`` (the next pages) or
    ``before`` (the previous ones), as read from the request by :func:`page_number`."""

    after: str | None
    before: str | None

    def __new__(cls, value: int, *, after: str | None = None, before: str | None = None) -> PageNumber:
        obj = super().__new__(cls, value)
        obj.after = after
        obj.before = before
        return obj


def page_number(request: HttpRequest, param: str = "page") -> PageNumber:
    """``?page=`` (1…10,000) with the ``?after=`` / ``?before=`` cursor of the pager's links."""
    try:
        number = max(1, min(int(request.GET.get(param, "1")), 10_000))
    except ValueError:
        number = 1
    after = request.GET.get("after") or None
    before = None if after else request.GET.get("before") or None
    return PageNumber(number, after=after, before=before)


def paginate(qs: QuerySet[M], number: int, per_page: int = 25) -> Page[M]:
    """Slice ``qs`` (already ordered) into page ``number`` (1-based).

    With a cursor on ``number`` (:class:`PageNumber`), the page is read by keyset
    (``core.keyset``): the ``per_page`` rows after (or before) the cursor's sort values,
    which the list's sort index finds directly, where ``OFFSET`` walks every row of the
    earlier pages (a rep's page 200 of activities walked a million index entries). The
    number then only labels the page. A malformed cursor, or one made for another sort
    order, is ignored (the page is read by number); an ordering keyset cannot follow
    falls back to ``OFFSET``.
    """
    from salesflow.core.errors import ValidationFailed
    from salesflow.core.keyset import SortKey, after_q, decode_cursor, encode_cursor, sort_keys

    try:
        keys: list[SortKey] | None = sort_keys(qs)
    except TypeError:
        keys = None
    if keys is None:
        return _offset_page(qs, number, per_page, None)
    order = list(qs.query.order_by)
    if len(keys) > len(order):
        order.append("-id" if keys[-1].desc else "id")
    ordered = qs.order_by(*order)
    after, before = getattr(number, "after", None), getattr(number, "before", None)
    values = None
    if after or before:
        try:
            values = decode_cursor(keys, str(after or before))
        except ValidationFailed:
            values = None
    if values is None:
        return _offset_page(ordered, number, per_page, keys)
    if after:
        rows = list(ordered.filter(after_q(keys, values))[: per_page + 1])
        items, has_next, more_before = rows[:per_page], len(rows) > per_page, True
    else:
        backwards = [SortKey(k.field, not k.desc, not k.nulls_last) for k in keys]
        rows = list(ordered.reverse().filter(after_q(backwards, values))[: per_page + 1])
        items, has_next, more_before = rows[:per_page][::-1], True, len(rows) > per_page
    return Page(
        object_list=items,
        number=int(number),
        per_page=per_page,
        has_next=has_next,
        more_before=more_before,
        first_cursor=encode_cursor(keys, items[0]) if items else None,
        last_cursor=encode_cursor(keys, items[-1]) if items else None,
    )


def _offset_page(qs: QuerySet[M], number: int, per_page: int, keys: list[Any] | None) -> Page[M]:
    from salesflow.core.keyset import encode_cursor

    offset = (int(number) - 1) * per_page
    rows = list(qs[offset : offset + per_page + 1])
    items = rows[:per_page]
    return Page(
        object_list=items,
        number=int(number),
        per_page=per_page,
        has_next=len(rows) > per_page,
        first_cursor=encode_cursor(keys, items[0]) if keys and items else None,
        last_cursor=encode_cursor(keys, items[-1]) if keys and items else None,
    )


def sort_param(request: HttpRequest, allowed: dict[str, Sequence[str]], default: str) -> tuple[str, list[str]]:
    """Read ``?sort=`` (``name`` or ``-name``) against a whitelist → (key, order_by fields).

    ``allowed`` maps a public key to the ascending ``order_by`` fields; unknown keys fall
    back to ``default`` so a crafted URL can never sort by an unindexed column.
    """
    key = request.GET.get("sort", default)
    desc = key.startswith("-")
    base = key[1:] if desc else key
    if base not in allowed:
        key, desc, base = default, default.startswith("-"), default.lstrip("-")
    fields = [(f[1:] if f.startswith("-") else "-" + f) if desc else f for f in allowed[base]]
    return key, fields


def wants_fragment(request: HttpRequest, *, target: str | None = None) -> bool:
    """Whether a dual-mode view answers with its fragment instead of the full page.

    Only for htmx requests (aimed at ``target`` when given), and never for an htmx history
    restore: after Back, htmx asks for the page again (``HX-History-Restore-Request``, with
    ``HX-Request`` too in htmx 2) and must get the whole page, not a table without a layout.
    """
    headers = request.headers
    if headers.get("HX-Request") != "true" or headers.get("HX-History-Restore-Request") == "true":
        return False
    return target is None or headers.get("HX-Target") == target


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """Caches (the browser's included) must keep the page and the fragment of one URL apart."""
    patch_vary_headers(response, ("HX-Request",))
    return response


def render_list(
    request: HttpRequest,
    *,
    page: str,
    fragment: str,
    context: dict[str, Any],
    target: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render a dual-mode list view: ``fragment`` when ``wants_fragment``, else ``page``;
    always with ``Vary: HX-Request``. Every list view answers through this."""
    template = fragment if wants_fragment(request, target=target) else page
    return vary_on_htmx(render(request, template, context, status=status))


def apply_service_error(form: forms.BaseForm, exc: ServiceError) -> None:
    """Show a service's refusal on a form: field errors on their fields, the rest on top."""
    placed = False
    for field, messages in exc.field_errors.items():
        for message in messages:
            if field in form.fields:
                form.add_error(field, message)
                placed = True
            else:
                form.add_error(None, message)
                placed = True
    if not placed:
        form.add_error(None, str(exc.message))
