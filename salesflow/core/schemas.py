"""Strict base schemas for API input: every input schema inherits from ``StrictSchema``.

One place decides what the API accepts, so a new endpoint cannot forget it:

- unknown and read-only fields are refused (``extra="forbid"``) and named in the error;
- text must not contain NUL bytes, other control characters or lone surrogates (which
  PostgreSQL refuses with a 500 and which no person types). Multi-line text fields may hold
  ``\\n``, ``\\r`` and ``\\t``; all other text is one line;
- text without its own ``max_length`` is capped at ``TEXT_MAX_LENGTH`` characters;
- integers must fit a 64-bit database column;
- datetimes must carry a time zone offset (the API does not guess the zone).

Query-string filters inherit from ``StrictQuery``: the same value checks, but unknown query
parameters are ignored (caches and proxies add their own). Search terms use ``SearchText``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, ClassVar

from django.utils.translation import gettext
from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

SEARCH_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 20_000
INT_MAX = 2**63 - 1

# Fields whose text may span lines wherever they appear (textareas in the web forms).
MULTILINE_FIELDS: frozenset[str] = frozenset(
    {"description", "notes", "note", "need", "achievements", "outcome", "outcome_note", "disqualify_note"}
    | {"duplicate_reason"}  # issue 8: "save anyway" past the duplicate warning
)

_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# Documentation of the list parameters shared by every big list.
CURSOR_DOC = (
    "Opaque `next_cursor` of the previous page: the next page by keyset, fast at any depth and "
    "without a count (`count` is null). Keep the other parameters unchanged."
)
OFFSET_DOC = "Rows to skip (offset paging; computes `count`). Prefer `cursor` beyond the first pages."
COUNT_DOC = "Rows matching the filters; null above 10,000 matches and when the page was read with a `cursor`"
NEXT_CURSOR_DOC = "Pass as `cursor` to read the next page; null on the last page"

SearchText = Annotated[
    str,
    Field(
        "",
        max_length=SEARCH_MAX_LENGTH,
        description=f"Search term (at most {SEARCH_MAX_LENGTH} characters, no control characters)",
    ),
]


def text_error(value: str, *, multiline: bool) -> str | None:
    """The reason ``value`` is not acceptable text, or ``None`` when it is."""
    pattern = _CONTROL_MULTILINE if multiline else _CONTROL_ONE_LINE
    if pattern.search(value):
        return gettext("Control characters (such as NUL bytes) are not allowed here.")
    return None


def _check(value: Any, *, field: str, multiline: bool, max_length: int | None) -> None:
    if isinstance(value, str):
        reason = text_error(value, multiline=multiline)
        if reason:
            raise ValueError(reason)
        if max_length is None and len(value) > TEXT_MAX_LENGTH:
            raise ValueError(gettext("At most %(max)d characters are allowed.") % {"max": TEXT_MAX_LENGTH})
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -INT_MAX <= value <= INT_MAX:
            raise ValueError(gettext("This number is out of range."))
    elif isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(gettext("Give a time zone offset, e.g. 2025-01-31T09:00:00+08:00 or …Z."))
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check(item, field=field, multiline=multiline, max_length=max_length)
    elif isinstance(value, BaseModel):
        return  # validated by its own (strict) class


def _max_length(cls: type[BaseModel], name: str) -> int | None:
    info = cls.model_fields.get(name)
    if info is None:
        return None
    for meta in info.metadata:
        limit = getattr(meta, "max_length", None)
        if limit is not None:
            return int(limit)
    return None


class _ValueChecks(Schema):
    """Shared value checks of ``StrictSchema`` and ``StrictQuery`` (see the module docstring)."""

    multiline_fields: ClassVar[frozenset[str]] = MULTILINE_FIELDS

    @field_validator("*", mode="after")
    @classmethod
    def _strict_values(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        _check(value, field=name, multiline=name in cls.multiline_fields, max_length=_max_length(cls, name))
        return value


class StrictSchema(_ValueChecks):
    """Base of every API request body: unknown or read-only fields are a 400 naming them."""

    model_config = ConfigDict(extra="forbid")


class StrictQuery(_ValueChecks):
    """Base of every API query-string filter schema (unknown parameters are ignored)."""


# ------------------------------------------------------------------------ exports (issue 6)


class ExportIn(StrictSchema):
    list: str = Field(..., max_length=40, description="accounts, contacts, leads, opportunities or activities")
    format: str = Field("xlsx", max_length=8, description="csv or xlsx")
    query: str = Field(
        "", max_length=1000, description="The list's filters and sort as on the list page, e.g. stage=3&sort=-amount"
    )


class ExportOut(Schema):
    id: int
    list: str
    format: str
    query: str
    status: str = Field(..., description="pending, running, done, failed or expired")
    rows: int
    progress: int = Field(..., description="Rows written so far")
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None
    download_url: str | None = Field(None, description="GET it (with your token) once status is done")
