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

    ``has_next`` is known by fetching one extra row.
    """

    object_list: list[M]
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

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


def page_number(request: HttpRequest, param: str = "page") -> int:
    try:
        return max(1, min(int(request.GET.get(param, "1")), 10_000))
    except ValueError:
        return 1


def paginate(qs: QuerySet[M], number: int, per_page: int = 25) -> Page[M]:
    """Slice ``qs`` (already ordered) into page ``number`` (1-based)."""
    offset = (number - 1) * per_page
    rows = list(qs[offset : offset + per_page + 1])
    return Page(object_list=rows[:per_page], number=number, per_page=per_page, has_next=len(rows) > per_page)


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
