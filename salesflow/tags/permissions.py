"""Who may manage tags and who may create one while tagging.

Tagging a record is writing it: ``tags.services.tag_add``/``tag_remove`` ask the record
kind's own policy (``core.visibility.can_write_record``)."""

from __future__ import annotations

from django.conf import settings

from salesflow.tags.models import TagSettings
from salesflow.users.models import User
from salesflow.users.permissions import is_system_actor, writable_owner_ids

# The record kinds that carry tags (their public names in ``core.visibility``).
TAGGABLE_KINDS: tuple[str, ...] = ("account", "contact", "lead", "opportunity")


def current_settings() -> TagSettings:
    """The settings row, or an unsaved default (``SALESFLOW_TAGS_INLINE``) before the first save."""
    row = TagSettings.objects.filter(pk=1).first()
    if row is None:
        row = TagSettings(pk=1, inline_create=getattr(settings, "SALESFLOW_TAGS_INLINE", True))
    return row


def can_manage_tags(user: User) -> bool:
    """Administrators (and the system actor) create, rename, recolour and delete tags."""
    if is_system_actor(user):
        return True
    return bool(user.is_authenticated and user.is_active and user.is_admin)


def may_create_tag(user: User) -> bool:
    """Administrators always; others who may write some records when inline creation is on."""
    if can_manage_tags(user):
        return True
    if not (user.is_authenticated and user.is_active):
        return False
    ids = writable_owner_ids(user)
    return (ids is None or bool(ids)) and current_settings().inline_create
