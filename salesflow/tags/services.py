"""Writes of tags: administrators manage the tags; whoever may write a record tags it.

Every function validates first, owns its transaction and audits: tag management on the
tag, tagging and untagging on the record (so it shows on the record's timeline)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any, TypedDict, Unpack

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from salesflow.core.audit import changed_fields, record_event
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.visibility import can_write_record, kind_of
from salesflow.tags.choices import Colour
from salesflow.tags.models import NAME_LENGTH, Tag, TaggedItem, TagSettings
from salesflow.tags.permissions import TAGGABLE_KINDS, can_manage_tags, current_settings, may_create_tag
from salesflow.users.models import User


class TagChanges(TypedDict, total=False):
    """The fields ``tag_update`` may change."""

    name: str
    colour: str


TAG_FIELDS: frozenset[str] = frozenset(TagChanges.__annotations__)


def _clean_name(value: object, errors: dict[str, list[str]], *, exclude_pk: int | None = None) -> str:
    name = unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else ""
    name = " ".join(name.split())
    if not name:
        errors.setdefault("name", []).append(_("This field is required."))
    elif len(name) > NAME_LENGTH:
        errors.setdefault("name", []).append(_("At most %(n)d characters.") % {"n": NAME_LENGTH})
    elif any(unicodedata.category(ch).startswith("C") for ch in name):
        errors.setdefault("name", []).append(_("The name contains characters that are not allowed."))
    elif Tag.objects.filter(name__iexact=name).exclude(pk=exclude_pk or 0).exists():
        errors.setdefault("name", []).append(_("A tag with this name already exists."))
    return name


def _clean_colour(value: object, errors: dict[str, list[str]]) -> str:
    if not isinstance(value, str) or value not in Colour.values:
        errors.setdefault("colour", []).append(_("Select a colour from the palette."))
        return ""
    return value


def _duplicate() -> ValidationFailed:
    return ValidationFailed(
        _("The tag could not be saved."), field_errors={"name": [_("A tag with this name already exists.")]}
    )


@transaction.atomic
def tag_create(*, actor: User, name: str, colour: str = Colour.BLUE) -> Tag:
    """Create a tag. Administrators always may; others only while inline creation is on
    (``TagSettings.inline_create``) and they may write some records. Names are unique
    regardless of case (a race on the name → ``ValidationFailed`` on ``name``, never a 500).
    Audits ``tags.tag.created`` on the tag."""
    if not may_create_tag(actor):
        raise Forbidden(_("You may not create tags."))
    errors: dict[str, list[str]] = {}
    clean_name = _clean_name(name, errors)
    clean_colour = _clean_colour(colour, errors)
    if errors:
        raise ValidationFailed(_("The tag could not be saved."), field_errors=errors)
    try:
        with transaction.atomic():
            tag = Tag.objects.create(name=clean_name, colour=clean_colour, created_by=actor if actor.pk else None)
    except IntegrityError:
        raise _duplicate() from None
    record_event(actor=actor, verb="tags.tag.created", target=tag, data={"name": tag.name, "colour": tag.colour})
    return tag


@transaction.atomic
def tag_update(*, actor: User, tag: Tag, **changes: Unpack[TagChanges]) -> Tag:
    """Rename or recolour ``tag`` (administrators). Audits ``tags.tag.updated`` with ``changes``."""
    refuse_unknown_fields(changes, TAG_FIELDS, _("The tag could not be saved."))
    if not can_manage_tags(actor):
        raise Forbidden(_("Only administrators manage tags."))
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = _clean_name(changes["name"], errors, exclude_pk=tag.pk)
    if "colour" in changes:
        values["colour"] = _clean_colour(changes["colour"], errors)
    if errors:
        raise ValidationFailed(_("The tag could not be saved."), field_errors=errors)
    diff = changed_fields({k: getattr(tag, k) for k in values}, values)
    if not diff:
        return tag
    before = {k: getattr(tag, k) for k in diff}
    for key in diff:
        setattr(tag, key, values[key])
    try:
        with transaction.atomic():
            tag.save(update_fields=[*diff, "updated_at"])
    except IntegrityError:
        for key, value in before.items():
            setattr(tag, key, value)
        raise _duplicate() from None
    record_event(actor=actor, verb="tags.tag.updated", target=tag, data={"changes": diff})
    return tag


@transaction.atomic
def tag_delete(*, actor: User, tag: Tag) -> None:
    """Delete ``tag`` and take it off every record (administrators). Audits ``tags.tag.deleted``."""
    if not can_manage_tags(actor):
        raise Forbidden(_("Only administrators manage tags."))
    records = TaggedItem.objects.filter(tag=tag).count()
    record_event(actor=actor, verb="tags.tag.deleted", target=tag, data={"name": tag.name, "records": records})
    tag.delete()


@transaction.atomic
def tag_settings_update(*, actor: User, inline_create: bool) -> TagSettings:
    """Say whether users who are not administrators may create tags while tagging."""
    if not can_manage_tags(actor):
        raise Forbidden(_("Only administrators manage tags."))
    row = current_settings()
    if row.inline_create == inline_create and row._state.adding is False:
        return row
    old = row.inline_create
    row.inline_create = bool(inline_create)
    row.save()
    record_event(
        actor=actor, verb="tags.settings.updated", target=row, data={"changes": {"inline_create": [old, inline_create]}}
    )
    return row


def _require_taggable(actor: User, record: models.Model) -> ContentType:
    kind = kind_of(type(record))
    if kind not in TAGGABLE_KINDS:
        raise ValidationFailed(
            _("Records of this kind cannot be tagged."), field_errors={"record": [_("Not taggable.")]}
        )
    if not can_write_record(actor, record):
        raise Forbidden(_("You may not change this record."))
    return ContentType.objects.get_for_model(type(record))


@transaction.atomic
def tag_add(*, actor: User, record: models.Model, tag: Tag) -> bool:
    """Put ``tag`` on ``record`` (an account, contact, lead or deal the actor may write).

    Returns ``False`` (and writes nothing) when the record already carries it, also when a
    concurrent request tagged it first. Raises ``Forbidden`` when ``actor`` may not change
    the record. Audits ``tags.record.tagged`` on the record."""
    ct = _require_taggable(actor, record)
    if TaggedItem.objects.filter(tag=tag, content_type=ct, object_id=record.pk).exists():
        return False
    try:
        with transaction.atomic():
            TaggedItem.objects.create(tag=tag, content_type=ct, object_id=record.pk)
    except IntegrityError:
        return False
    record_event(actor=actor, verb="tags.record.tagged", target=record, data={"tag_id": tag.pk, "name": tag.name})
    return True


@transaction.atomic
def tag_remove(*, actor: User, record: models.Model, tag: Tag) -> bool:
    """Take ``tag`` off ``record``; ``False`` when it did not carry it. Same rights as
    ``tag_add``. Audits ``tags.record.untagged`` on the record."""
    ct = _require_taggable(actor, record)
    deleted, _n = TaggedItem.objects.filter(tag=tag, content_type=ct, object_id=record.pk).delete()
    if not deleted:
        return False
    record_event(actor=actor, verb="tags.record.untagged", target=record, data={"tag_id": tag.pk, "name": tag.name})
    return True


@transaction.atomic
def tag_add_by_name(*, actor: User, record: models.Model, name: str, colour: str = Colour.BLUE) -> Tag:
    """Tag ``record`` with the tag named ``name`` (any case), creating it first when none
    exists and ``actor`` may create tags (``tag_create``'s rule)."""
    _require_taggable(actor, record)
    clean = " ".join(unicodedata.normalize("NFKC", name).split()) if isinstance(name, str) else ""
    tag = Tag.objects.filter(name__iexact=clean).first() if clean else None
    if tag is None:
        tag = tag_create(actor=actor, name=name, colour=colour)
    tag_add(actor=actor, record=record, tag=tag)
    return tag


def tag_bulk_action(*, actor: User, action: str, tag_id: int | None) -> Callable[[models.Model], object] | None:
    """For the lists' bulk actions: ``tag_add`` / ``tag_remove`` with tag ``tag_id`` as a
    per-record callable (``core.bulk.run_bulk``), or ``None`` for any other action.
    Raises ``ValidationFailed`` on ``tag_id`` when the tag is missing or unknown."""
    if action not in ("tag_add", "tag_remove"):
        return None
    tag = Tag.objects.filter(pk=tag_id).first() if tag_id is not None else None
    if tag is None:
        raise ValidationFailed(_("Select a valid tag."), field_errors={"tag_id": [_("Select a valid tag.")]})
    if action == "tag_add":
        return lambda record: tag_add(actor=actor, record=record, tag=tag)
    return lambda record: tag_remove(actor=actor, record=record, tag=tag)
