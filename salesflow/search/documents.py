"""How records become search rows: the registry the owning apps fill, and the text rules.

The search app sits just above ``users`` and knows no business model: parties, sales and
leads register, in their ``ready()``, a function turning one of their records into a
:class:`Document` (``register_search_document``) and, where a record's row shows another
record's name (a contact's or a deal's company), that it follows the other record
(``register_search_follower``), so renaming an account re-indexes its contacts and deals.

Text rules (the same for stored rows and for queries, so they meet):

* every part is folded: NFKC (full-width → half-width) and case-folded;
* phone numbers are stored normalised (``core.normalize.normalize_phone``), so a number
  typed as ``138 0013 8000``, ``+86-138-0013-8000`` or in full-width digits finds it;
* credit codes normalised (no spaces or hyphens);
* every pair of adjacent CJK characters is also stored as a bigram token followed by
  ``BIGRAM_MARK`` (``华达ǂ``): trigram indexes cannot match a two-character term, but
  ``华达ǂ`` is three characters, so two-character Chinese names and company fragments
  (``王芳``, ``华达``) are found through the same trigram index.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import QuerySet

from salesflow.core.normalize import normalize_credit_code, normalize_phone

BIGRAM_MARK = "ǂ"  # U+01C2, a letter (pg_trgm keeps it inside words) nobody types in a name
TITLE_MAX = 200
SUBTITLE_MAX = 300


@dataclass
class Document:
    """What the index holds for one record."""

    title: str
    subtitle: str = ""
    words: list[str] = field(default_factory=list)  # names, company, email, WeChat id…
    phones: list[str] = field(default_factory=list)
    credit_codes: list[str] = field(default_factory=list)


ToDocument = Callable[[Any], Document]


@dataclass
class Registration:
    kind: str
    model: type[models.Model]
    to_document: ToDocument
    queryset: Callable[[], QuerySet[Any]]  # rows with what to_document reads loaded
    detail_url: str  # URL name of the record page, reversed with the id ("accounts:detail")
    list_url: str  # URL name of the kind's list, which takes ``?q=`` ("accounts:list")
    icon: str = "ti-file"  # Tabler icon of the result group
    followers: list[tuple[type[models.Model], str]] = field(default_factory=list)
    # lookup path of the owner the visibility policy's ownership scope keys on
    # ("owner_id"; a contact: "account__owner_id"); stored on the row as ``owner_id``
    owner: str = "owner_id"

    def owner_of(self, obj: Any) -> int | None:
        """The owner id at :attr:`owner` of ``obj`` (relations loaded by :attr:`queryset`)."""
        value: Any = obj
        for part in self.owner.split("__"):
            value = getattr(value, part, None)
            if value is None:
                return None
        return int(value)


_BY_MODEL: dict[type[models.Model], Registration] = {}


def register_search_document(
    kind: str,
    model: type[models.Model],
    to_document: ToDocument,
    *,
    detail_url: str,
    list_url: str,
    icon: str = "ti-file",
    queryset: Callable[[], QuerySet[Any]] | None = None,
    owner: str = "owner_id",
) -> None:
    """Declare that records of ``model`` (record kind ``kind``) are searchable.

    ``queryset()`` returns the rows to (re)index with the relations ``to_document`` reads
    already loaded (``select_related``), so a batch re-index never queries per row.
    ``owner`` is the lookup path of the owner that the kind's visibility policy checks
    against the reader's ownership scope (``"account__owner_id"`` for contacts, which are
    readable with their account); a record whose owner changes another way than through
    that path must be re-indexed by the service that changes it.
    """
    _BY_MODEL[model] = Registration(
        kind=kind,
        model=model,
        to_document=to_document,
        queryset=queryset or (lambda: model._default_manager.all()),
        detail_url=detail_url,
        list_url=list_url,
        icon=icon,
        followers=_BY_MODEL[model].followers if model in _BY_MODEL else [],
        owner=owner,
    )


def register_search_follower(leader: type[models.Model], follower: type[models.Model], fk_field: str) -> None:
    """Rows of ``follower`` show ``leader``'s title (``fk_field`` points at it): when a
    leader's title or owner changes, its followers are re-indexed (a contact's row carries
    its account's owner)."""
    if leader not in _BY_MODEL:
        raise LookupError(f"{leader.__name__} is not registered for search")
    _BY_MODEL[leader].followers.append((follower, fk_field))


def registration_for(model: type[models.Model]) -> Registration | None:
    return _BY_MODEL.get(model)


def registrations() -> list[Registration]:
    return list(_BY_MODEL.values())


def registration_for_kind(kind: str) -> Registration | None:
    for registration in _BY_MODEL.values():
        if registration.kind == kind:
            return registration
    return None


def searchable_kinds() -> list[str]:
    return [r.kind for r in _BY_MODEL.values()]


# --- text rules -----------------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]")
# Han ideographs (BMP blocks and extension A), kana and hangul syllables: one character, one word
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]{2,}")


def fold(value: str) -> str:
    """NFKC + case folding until stable; control characters become spaces."""
    text, previous = value or "", None
    while text != previous:
        previous, text = text, unicodedata.normalize("NFKC", text).casefold()
    return _CONTROL.sub(" ", text)


def is_cjk(ch: str) -> bool:
    return _CJK_RUN.fullmatch(ch + ch) is not None


def cjk_bigrams(text: str) -> list[str]:
    """Every pair of adjacent CJK characters, each with ``BIGRAM_MARK`` appended."""
    out: dict[str, None] = {}
    for run in _CJK_RUN.findall(text):
        for i in range(len(run) - 1):
            out[run[i : i + 2] + BIGRAM_MARK] = None
    return list(out)


def search_text(document: Document) -> str:
    """The folded text stored for ``document`` (see the module docstring)."""
    parts = [fold(w).strip() for w in (document.title, *document.words)]
    parts += [normalize_phone(p) for p in document.phones]
    parts += [fold(normalize_credit_code(c)) for c in document.credit_codes]
    parts = [p for p in parts if p]
    text = " | ".join(parts)
    bigrams = cjk_bigrams(text)
    return text + (" | " + " ".join(bigrams) if bigrams else "")


def title_key(title: str) -> str:
    return fold(title).strip()[:TITLE_MAX]


def entry_values(registration: Registration, obj: Any) -> dict[str, Any]:
    """The column values of ``obj``'s search row."""
    document = registration.to_document(obj)
    title = (document.title or str(obj))[:TITLE_MAX]
    return {
        "kind": registration.kind,
        "object_id": obj.pk,
        "title": title,
        "subtitle": (document.subtitle or "")[:SUBTITLE_MAX],
        "title_key": title_key(title),
        "text": search_text(document),
        "owner_id": registration.owner_of(obj),
    }


def joined(*parts: str | None, sep: str = " · ") -> str:
    """Non-empty parts joined (subtitles)."""
    return sep.join(p for p in parts if p)


def flatten(values: Iterable[str | None]) -> list[str]:
    return [v for v in values if v]
