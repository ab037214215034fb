"""Writes: creating notifications (with their deliveries), marking read, preferences."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesflow.core.audit import in_every_language
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.core.tasks import enqueue_on_commit
from salesflow.notifications import tasks
from salesflow.notifications.kinds import KINDS, Channel
from salesflow.notifications.models import Delivery, Notification, NotificationPreference
from salesflow.notifications.selectors import preferences_for, robots_for
from salesflow.users.models import User


def notification_create(
    *,
    recipient: User,
    kind: str,
    summary: dict[str, str] | Any,
    dedupe_key: str,
    target: models.Model | None = None,
    event: AuditEvent | None = None,
    url: str = "",
) -> Notification | None:
    """Notify ``recipient`` of ``kind`` once per ``dedupe_key`` on the channels they keep on.

    ``summary`` is ``{language: text}`` (see ``in_every_language``) or a callable rendering
    it. Returns the new notification, or ``None`` when the recipient is inactive, turned
    every channel off, or already has a notification with this key (idempotent: safe to
    call from a task that runs twice). Email and robot deliveries are enqueued after commit.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not recipient.is_active:
        return None
    prefs = preferences_for(recipient)
    email = prefs[(kind, Channel.EMAIL)] and bool(recipient.email)
    robots = robots_for(recipient, kind) if prefs[(kind, Channel.ROBOT)] else []
    in_app = prefs[(kind, Channel.IN_APP)]
    if not (in_app or email or robots):
        return None
    if callable(summary):
        summary = in_every_language(summary)
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient=recipient,
                kind=kind,
                event=event,
                target_type=ContentType.objects.get_for_model(target) if target is not None else None,
                target_id=target.pk if target is not None else None,
                summary=summary,
                url=url,
                dedupe_key=dedupe_key,
                in_app=in_app,
            )
            if email:
                delivery = Delivery.objects.create(notification=notification, channel="email")
                enqueue_on_commit(tasks.deliver_email, delivery.pk)
            for robot in robots:
                delivery = Delivery.objects.create(notification=notification, channel=f"robot:{robot.pk}", robot=robot)
                enqueue_on_commit(tasks.deliver_robot, delivery.pk)
    except IntegrityError:
        return None  # already notified under this key
    return notification


def notification_mark_read(*, actor: User, notification: Notification) -> Notification:
    """Mark the actor's own notification read (idempotent). Raises ``Forbidden`` for anyone
    else's notification, changing nothing."""
    if notification.recipient_id != actor.pk:
        raise Forbidden(_("This notification is not yours."))
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notification_mark_all_read(*, actor: User) -> int:
    """Mark every unread notification of the actor read; returns how many changed."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def notification_preferences_set(*, actor: User, user: User, changes: dict[tuple[str, str], bool]) -> None:
    """Set ``{(kind, channel): enabled}`` for ``user``. Only the user themself may
    (``Forbidden``); an unknown kind or channel is ``ValidationFailed`` and nothing is saved."""
    if actor.pk != user.pk:
        raise Forbidden(_("You can only change your own notification settings."))
    errors: dict[str, list[str]] = {}
    for kind, channel in changes:
        if kind not in KINDS:
            errors.setdefault("kind", []).append(str(_("Unknown notification type: %(kind)s") % {"kind": kind}))
        if channel not in Channel.values:
            errors.setdefault("channel", []).append(str(_("Unknown channel: %(channel)s") % {"channel": channel}))
    if errors:
        raise ValidationFailed(_("The notification settings could not be saved."), field_errors=errors)
    for (kind, channel), enabled in changes.items():
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, channel=channel, defaults={"enabled": bool(enabled)}
        )
