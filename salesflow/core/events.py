"""Declared event types and their subscribers.

Every audit verb written with :func:`salesflow.core.audit.record_event` is an
:class:`EventType` declared once, in its app's ``events.py`` (found by the core app's
``ready()`` like ``admin.py``): the verb, the payload keys with their JSON types and a
description. The payload is the event's stable contract: timelines, notifications and later
webhooks and automation read it, so keys are only ever added (as optional), never renamed.
One convention for updates: ``changes`` = ``{field: [old, new]}``.

``record_event`` checks every event against its declaration (:func:`check_payload`). An
undeclared verb or a payload that does not match raises :class:`EventContractError` when
``SALESFLOW_STRICT_EVENTS`` is on (development, tests); in production it is logged and the
event is still stored — an audit row is never lost to a schema slip.

Subscribers register per event type and run **after the transaction commits**, each on its
own: one that raises is logged and neither the others nor the request notice. A subscriber is
either a function called inline after the commit (:func:`subscribe`) or a task enqueued after
the commit with the event id (:func:`subscribe_task`; preferred for anything slow or that
talks to the outside world, such as notifications). Subscribers never see events of a
transaction that rolled back.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils.functional import Promise

if TYPE_CHECKING:
    from django_tasks.base import Task

    from salesflow.core.models import AuditEvent

logger = logging.getLogger(__name__)

# Payload value types, as they are after record_event made the data JSON-safe.
_TYPES: dict[str, Callable[[Any], bool]] = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "dict": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
    # Decimal amounts are stored as strings; dates and datetimes as ISO strings.
    "decimal": lambda v: isinstance(v, str | int) and not isinstance(v, bool),
    "date": lambda v: isinstance(v, str),
    # {field: [old, new]}
    "changes": lambda v: isinstance(v, dict) and all(isinstance(p, list) and len(p) == 2 for p in v.values()),
    # a timeline summary: {"en": …, "zh-hans": …} (in_every_language) or plain text
    "summary": lambda v: isinstance(v, str) or (isinstance(v, dict) and all(isinstance(s, str) for s in v.values())),
}

# Keys every event may carry without declaring them.
COMMON_OPTIONAL = {"summary": "summary"}


class EventContractError(ValueError):
    """An event's verb is not declared, or its payload does not match the declaration."""


@dataclass(frozen=True)
class EventType:
    """One kind of event. ``payload`` maps each key to a type (``"int"``, ``"str|null"``,
    ``"changes"``, …); keys in ``optional`` may be absent. ``open_payload`` accepts any keys
    (only for verbs declared ahead of the code that emits them)."""

    verb: str
    payload: Mapping[str, str] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()
    description: str = ""
    open_payload: bool = False
    # Timeline label; most apps register theirs with core.timeline.register_verbs instead.
    label: str | Promise = ""

    def __post_init__(self) -> None:
        for key, spec in self.payload.items():
            for name in spec.split("|"):
                if name not in _TYPES:
                    raise ValueError(f"{self.verb}: unknown payload type {name!r} for {key!r}")
        if not self.optional <= set(self.payload):
            raise ValueError(f"{self.verb}: optional keys must be declared in the payload")


_EVENT_TYPES: dict[str, EventType] = {}
_SUBSCRIBERS: dict[str, list[tuple[str, Callable[[AuditEvent], None]]]] = {}


def declare(*event_types: EventType) -> None:
    """Declare event types (from an app's ``events.py``). Re-declaring a verb identically
    is harmless; declaring it differently is a programming error."""
    for event_type in event_types:
        existing = _EVENT_TYPES.get(event_type.verb)
        if existing is not None and existing != event_type:
            raise ValueError(f"event type {event_type.verb} is declared twice, differently")
        _EVENT_TYPES[event_type.verb] = event_type


def undeclare(verb: str) -> None:
    """Remove a declaration (tests only)."""
    _EVENT_TYPES.pop(verb, None)


def event_type(verb: str) -> EventType | None:
    return _EVENT_TYPES.get(verb)


def event_types() -> list[EventType]:
    """Every declared type, sorted by verb."""
    return sorted(_EVENT_TYPES.values(), key=lambda t: t.verb)


def check_payload(verb: str, data: Mapping[str, Any]) -> list[str]:
    """Problems with ``data`` as the payload of ``verb`` (empty when it matches)."""
    declared = _EVENT_TYPES.get(verb)
    if declared is None:
        return [f"undeclared event type {verb!r}"]
    if declared.open_payload:
        return []
    problems: list[str] = []
    spec = {**COMMON_OPTIONAL, **declared.payload}
    optional = declared.optional | set(COMMON_OPTIONAL)
    for key in data:
        if key not in spec:
            problems.append(f"{verb}: undeclared payload key {key!r}")
    for key, types in spec.items():
        if key not in data:
            if key not in optional:
                problems.append(f"{verb}: missing payload key {key!r}")
            continue
        if not any(_TYPES[name](data[key]) for name in types.split("|")):
            problems.append(f"{verb}: payload key {key!r} is {type(data[key]).__name__}, expected {types}")
    return problems


def enforce(verb: str, data: Mapping[str, Any]) -> None:
    """Raise (strict mode) or log the problems :func:`check_payload` finds."""
    problems = check_payload(verb, data)
    if not problems:
        return
    if getattr(settings, "SALESFLOW_STRICT_EVENTS", True):
        raise EventContractError("; ".join(problems))
    logger.error("event contract violated: %s", "; ".join(problems))


# --- subscribers -------------------------------------------------------------------------------


def subscribe(verb: str, handler: Callable[[AuditEvent], None], *, name: str = "") -> None:
    """Call ``handler(event)`` after the commit of every transaction that records ``verb``."""
    if verb not in _EVENT_TYPES:
        raise ValueError(f"cannot subscribe to undeclared event type {verb!r}")
    key = name or f"{handler.__module__}.{handler.__qualname__}"
    handlers = _SUBSCRIBERS.setdefault(verb, [])
    if all(existing != key for existing, _ in handlers):  # ready() may run twice in tests
        handlers.append((key, handler))


# (verb, subscriber name) → (task taking a list of event ids, its ``when``)
_MANY: dict[tuple[str, str], tuple[Task[Any, Any], Callable[[AuditEvent], bool] | None]] = {}


def subscribe_task(
    verb: str,
    task: Task[Any, Any],
    *,
    when: Callable[[AuditEvent], bool] | None = None,
    many: Task[Any, Any] | None = None,
) -> None:
    """Enqueue ``task(event_id)`` after the commit of every transaction that records ``verb``.

    ``when`` (a cheap test of the payload, run after the commit) skips the enqueue for events
    the task would ignore, so bulk operations do not fill the queue with no-op tasks.
    ``many`` (optional) is the same work for a list of event ids: the events of one bulk
    write (:func:`dispatch_many_after_commit`, e.g. an import batch's collisions) then
    enqueue ``many([ids…])`` once instead of ``task`` once per event.
    """

    def enqueue(event: AuditEvent) -> None:
        if when is None or when(event):
            task.enqueue(event.pk)

    name = f"task:{task.module_path}"
    subscribe(verb, enqueue, name=name)
    if many is not None:
        _MANY[(verb, name)] = (many, when)


def unsubscribe(verb: str, name: str) -> None:
    """Remove a subscriber by name (tests only)."""
    _SUBSCRIBERS[verb] = [(key, h) for key, h in _SUBSCRIBERS.get(verb, []) if key != name]
    _MANY.pop((verb, name), None)


def subscribers(verb: str) -> list[str]:
    return [key for key, _ in _SUBSCRIBERS.get(verb, [])]


def dispatch_after_commit(event: AuditEvent) -> None:
    """Schedule ``event``'s subscribers for after the current transaction commits."""
    for key, handler in _SUBSCRIBERS.get(event.verb, []):
        transaction.on_commit(functools.partial(_run_isolated, key, handler, event))


def dispatch_many_after_commit(saved: Sequence[AuditEvent]) -> None:
    """:func:`dispatch_after_commit` for the events of one bulk write: a task subscriber with
    a ``many`` task gets one task for all the events of a verb its ``when`` keeps (none when
    it keeps none); every other subscriber is called per event, as for one event."""
    by_verb: dict[str, list[AuditEvent]] = {}
    for event in saved:
        by_verb.setdefault(event.verb, []).append(event)
    for verb, group in by_verb.items():
        for key, handler in _SUBSCRIBERS.get(verb, []):
            batched = _MANY.get((verb, key))
            if batched is not None:
                transaction.on_commit(functools.partial(_run_many_isolated, key, *batched, group))
                continue
            for event in group:
                transaction.on_commit(functools.partial(_run_isolated, key, handler, event))


def _run_many_isolated(
    key: str, task: Task[Any, Any], when: Callable[[AuditEvent], bool] | None, group: Sequence[AuditEvent]
) -> None:
    try:
        ids = [event.pk for event in group if when is None or when(event)]
        if ids:
            task.enqueue(ids)
    except Exception:
        logger.exception("event subscriber %s failed for %d %s events", key, len(group), group[0].verb)


def _run_isolated(key: str, handler: Callable[[AuditEvent], None], event: AuditEvent) -> None:
    # A failing subscriber must not break the others or the request that already committed.
    try:
        handler(event)
    except Exception:
        logger.exception("event subscriber %s failed for %s #%s", key, event.verb, event.pk)


# --- the kernel's own event types ------------------------------------------------------------
# Exchange rates are entered by administrators (part "money" of issue 5 emits these); the
# payload is left open until that code lands and its keys are fixed here.
declare(
    EventType(
        "core.exchange_rate.created",
        {"currency": "str", "rate": "str", "valid_from": "date", "note": "str"},
        description="An administrator entered a dated exchange rate.",
    ),
    EventType(
        "core.exchange_rate.updated",
        {"changes": "changes"},
        description="An administrator corrected a dated exchange rate.",
    ),
    EventType(
        "core.exchange_rate.deleted",
        {"currency": "str", "rate": "str", "valid_from": "date", "note": "str"},
        description="An administrator deleted a dated exchange rate.",
    ),
)


# Exports (salesflow.core.exports): who exported which list with what filter, how many rows.
_EXPORT = {"list": "str", "query": "str", "format": "str", "rows": "int", "background": "bool"}
declare(
    EventType(
        "core.export.requested",
        _EXPORT,
        description="A user asked for a large export of a list (query = the list's filter); it runs in the background.",
    ),
    EventType(
        "core.export.completed",
        _EXPORT,
        description="An export of a list (query = the list's filter) was written with `rows` rows for the actor.",
    ),
)
