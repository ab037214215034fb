"""The approval gate (审批): how a document asks for approval without knowing the engine.

Documents (quotes, contracts, change orders, large deals, later plans…) live in apps
below the approval engine (``salesflow.approvals``), so they never import it. Instead:

* each document app registers an :class:`Approvable` in its ``AppConfig.ready``: its
  kind, model, label, how to read its URL, who may read it, and the callbacks the engine
  calls when a request ends;
* the document's service calls :func:`submit_for_approval` inside its own transaction
  with the facts rules may test (see :data:`FACT_KEYS`). The engine stores a request
  and answers :class:`Submission`:

  - ``approved``: no rule matched (or no engine is installed); the document service
    moves the document on itself, in the same transaction — the engine calls nothing;
  - ``pending``: a request with its route was created; the document service puts the
    document into its "under approval" state, where it refuses every edit.

* the engine decides later and calls, inside the decision's transaction,
  ``on_approved(target, actor)``, ``on_rejected(target, actor, comment)`` or
  ``on_withdrawn(target, actor)``. "Return to an earlier step" keeps the request pending
  and calls nothing. The callbacks change the document's state through the document
  app's own services and write its audit events.

Facts: a plain dict. The engine's rule conditions read these keys (missing keys never
match a condition on them):

``amount`` (``Decimal``, in the company currency), ``currency`` (str),
``discount_percent`` (``Decimal``, the largest line discount), ``margin_percent``
(``Decimal`` or ``None`` when costs are unknown), ``region`` (str, the account's
region/province), ``product_lines`` (list of category codes), ``customer_grade`` (str),
``non_standard_terms`` (bool), ``owner_id`` and ``team_id`` (int).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from django.db import models
from django.utils.functional import Promise

FACT_KEYS: tuple[str, ...] = (
    "amount",
    "currency",
    "discount_percent",
    "margin_percent",
    "region",
    "product_lines",
    "customer_grade",
    "non_standard_terms",
    "owner_id",
    "team_id",
)


@dataclass(frozen=True)
class Approvable:
    """A kind of document the engine may approve. ``kind`` is ``"<app>.<name>"``."""

    kind: str
    model: type[models.Model]
    label: str | Promise
    url: Callable[[Any], str]
    can_read: Callable[[Any, Any], bool]
    on_approved: Callable[[Any, Any], None]
    on_rejected: Callable[[Any, Any, str], None]
    on_withdrawn: Callable[[Any, Any], None]


@dataclass(frozen=True)
class Submission:
    """What :func:`submit_for_approval` answers. ``steps`` names the route's steps."""

    status: Literal["approved", "pending"]
    request_id: int | None = None
    steps: tuple[str, ...] = ()


class Engine(Protocol):
    def submit(
        self, *, actor: Any, approvable: Approvable, target: models.Model, facts: Mapping[str, Any], summary: str
    ) -> Submission: ...

    def pending_request_id(self, approvable: Approvable, target: models.Model) -> int | None: ...


_approvables: dict[str, Approvable] = {}
_engine: list[Engine] = []


def register_approvable(approvable: Approvable) -> None:
    """Register (or re-register, e.g. in tests) a kind of approvable document."""
    _approvables[approvable.kind] = approvable


def approvable(kind: str) -> Approvable | None:
    return _approvables.get(kind)


def approvables() -> list[Approvable]:
    return sorted(_approvables.values(), key=lambda item: item.kind)


def approvable_for(model: type[models.Model]) -> Approvable | None:
    for item in _approvables.values():
        if item.model is model:
            return item
    return None


def register_engine(engine: Engine) -> None:
    """The approval app installs itself here (once, in its ``ready``)."""
    _engine[:] = [engine]


def submit_for_approval(
    *, actor: Any, kind: str, target: models.Model, facts: Mapping[str, Any], summary: str
) -> Submission:
    """Ask for approval of ``target`` (of registered ``kind``) inside the caller's
    transaction. Without an installed engine every document is approved at once."""
    item = _approvables.get(kind)
    if item is None:
        raise LookupError(f"unknown approvable kind {kind!r}")
    if not _engine:
        return Submission(status="approved")
    return _engine[0].submit(actor=actor, approvable=item, target=target, facts=facts, summary=summary)


def pending_request_id(kind: str, target: models.Model) -> int | None:
    """The id of ``target``'s pending approval request, if any (for links on the document)."""
    item = _approvables.get(kind)
    if item is None or not _engine:
        return None
    return _engine[0].pending_request_id(item, target)
