"""Writing and reading the audit trail / record timelines.

Services call :func:`record_event` inside their transaction; it never commits on its own,
so an action and its event are saved together or not at all. Each verb is a declared event
type (:mod:`salesflow.core.events`); its subscribers run after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import translation

from salesflow.core import events
from salesflow.core.models import AuditEvent, AuditLink
from salesflow.core.visibility import readable_targets_q


def _json_safe(value: Any) -> Any:
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def record_event(
    *,
    actor: Any,
    verb: str,
    target: models.Model,
    data: dict[str, Any] | None = None,
    related: Iterable[models.Model | None] = (),
) -> AuditEvent:
    """Store an event about ``target`` and show it on the timelines of ``related`` too.

    ``actor`` may be ``None`` for system actions. ``data`` is made JSON-safe (Decimal and
    dates become strings) and must match the payload declared for ``verb``; otherwise
    ``EventContractError`` is raised in strict mode (development, tests) and the problem is
    logged in production. Must be called inside the service's transaction; the verb's
    subscribers run after it commits.
    """
    payload = _json_safe(data or {})
    events.enforce(verb, payload)
    ct = ContentType.objects.get_for_model(target)
    event = AuditEvent.objects.create(
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        verb=verb,
        target_type=ct,
        target_id=target.pk,
        target_repr=str(target)[:200],
        data=payload,
    )
    seen: set[tuple[int, int]] = set()
    links = []
    for obj in [target, *related]:
        if obj is None or obj.pk is None:
            continue
        obj_ct = ContentType.objects.get_for_model(obj)
        key = (obj_ct.pk, obj.pk)
        if key in seen:
            continue
        seen.add(key)
        links.append(AuditLink(event=event, content_type=obj_ct, object_id=obj.pk))
    AuditLink.objects.bulk_create(links)
    events.dispatch_after_commit(event)
    return event


def record_events(
    *,
    actor: Any,
    verb: str,
    items: Sequence[tuple[models.Model, dict[str, Any] | None]],
    related: Callable[[models.Model], Iterable[models.Model | None]] | None = None,
    related_each: Sequence[Iterable[models.Model | None]] | None = None,
) -> list[AuditEvent]:
    """Bulk form of :func:`record_event` for many targets of one model (imports): one event
    per ``(target, data)`` by ``actor``, linked to its target and to ``related(target)``
    (the timelines it also shows on, e.g. a contact's account) and to ``related_each[i]``
    for item ``i`` (when one target has several events about different records, e.g. the
    collisions a new lead opened; an unsaved instance with its pk set is enough). The same
    payload check and after-commit subscribers as :func:`record_event` (a task subscriber
    with a batch form gets one task for the call: ``events.dispatch_many_after_commit``); two
    inserts per call whatever the number of targets (plus ``bulk_create`` batching). Inside
    the service's transaction, like :func:`record_event`."""
    if not items:
        return []
    if related_each is not None and len(related_each) != len(items):
        raise ValueError("related_each needs one entry per item")
    who = actor if actor is not None and getattr(actor, "pk", None) else None
    ct = ContentType.objects.get_for_model(items[0][0])
    built: list[AuditEvent] = []
    for target, data in items:
        if ContentType.objects.get_for_model(target) != ct or target.pk is None:
            raise ValueError("record_events takes saved targets of one model")
        payload = _json_safe(data or {})
        events.enforce(verb, payload)
        built.append(
            AuditEvent(
                actor=who,
                verb=verb,
                target_type=ct,
                target_id=target.pk,
                target_repr=str(target)[:200],
                data=payload,
            )
        )
    saved = AuditEvent.objects.bulk_create(built, batch_size=500)
    links = [AuditLink(event=event, content_type=ct, object_id=event.target_id) for event in saved]
    if related is not None or related_each is not None:
        for index, ((target, _data), event) in enumerate(zip(items, saved, strict=True)):
            seen = {(ct.pk, target.pk)}
            others = [
                *(related(target) if related is not None else ()),
                *(related_each[index] if related_each is not None else ()),
            ]
            for obj in others:
                if obj is None or obj.pk is None:
                    continue
                obj_ct = ContentType.objects.get_for_model(obj)
                if (obj_ct.pk, obj.pk) not in seen:
                    seen.add((obj_ct.pk, obj.pk))
                    links.append(AuditLink(event=event, content_type=obj_ct, object_id=obj.pk))
    AuditLink.objects.bulk_create(links, batch_size=500)
    events.dispatch_many_after_commit(saved)
    return saved


def event_changes(data: dict[str, Any]) -> dict[str, list[Any]]:
    """The ``{field: [old, new]}`` of an update event, whichever key it was stored under
    (``changed_fields`` before the payloads were unified; migrated, but read defensively)."""
    changes = data.get("changes", data.get("changed_fields"))
    return changes if isinstance(changes, dict) else {}


def in_every_language(render: Callable[[], str]) -> dict[str, str]:
    """Render a timeline summary once per UI language: ``{"en": …, "zh-hans": …}``.

    Summaries built from translatable labels (stage names, reasons, field names) are stored
    in every language so a timeline reads correctly whichever language its reader uses;
    the ``event_summary`` template filter picks the reader's.
    """
    result: dict[str, str] = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            result[code] = str(render())
    return result


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose values differ."""
    return {
        key: [_json_safe(before.get(key)), _json_safe(value)]
        for key, value in after.items()
        if before.get(key) != value
    }


def timeline_for(
    obj: models.Model, *, user: Any = None, include_deleted: bool = False, limit: int = 50
) -> QuerySet[AuditEvent]:
    """Events on ``obj``'s timeline, newest first, with actors loaded (one query; with
    ``user``, one more small query first: the kinds of target the timeline holds).

    Callers must already have checked that the user may see ``obj``. With ``user``, an
    event whose target is another record is kept only when ``user`` may read that target
    (one subquery per kind, :mod:`salesflow.core.visibility`): an account's timeline must
    not tell a reader about deals and activities they may not open. Events about records
    that no longer exist are kept only with ``include_deleted`` (callers pass whether the
    reader may write ``obj``: its owner side keeps the trace of what was deleted).
    """
    ct = ContentType.objects.get_for_model(obj)
    qs = AuditEvent.objects.filter(links__content_type=ct, links__object_id=obj.pk)
    if user is not None:
        own = Q(target_type=ct, target_id=obj.pk)
        # The kinds of target on this timeline (one small query): the visibility filter then
        # carries one subquery per kind present instead of one per registered kind.
        kinds = set(qs.exclude(own).values_list("target_type_id", flat=True).distinct())
        qs = qs.filter(
            own
            | readable_targets_q(
                user, type_field="target_type", id_field="target_id", deleted=include_deleted, kinds=kinds
            )
        )
    return qs.select_related("actor", "target_type").order_by("-created_at", "-id")[:limit]
