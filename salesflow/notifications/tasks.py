"""Background work of notifications: turning events into notifications, and sending them.

Every task takes ids, reloads, and is idempotent: notifications are unique per
(recipient, dedupe key) and each delivery row is sent at most once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.utils import timezone, translation
from django_tasks import task
from django_tasks.base import Task

from salesflow.core.models import AuditEvent
from salesflow.notifications.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))  # 30 s, 1 min, 2 min, 4 min …


@task()
def notify_for_event(event_id: int) -> int:
    """Create the notifications the rules derive from audit event ``event_id``; returns how many."""
    return _notify(event_id)


@task()
def notify_for_events(event_ids: list[int]) -> int:
    """:func:`notify_for_event` for each of ``event_ids`` (the events of one bulk write, e.g.
    the collisions of an import batch), in order; returns how many notifications were made."""
    return sum(_notify(event_id) for event_id in event_ids)


def _notify(event_id: int) -> int:
    from salesflow.notifications.rules import RULES
    from salesflow.notifications.services import notification_create

    event = AuditEvent.objects.select_related("actor", "target_type").filter(pk=event_id).first()
    if event is None or event.verb not in RULES:
        return 0
    created = 0
    for planned in RULES[event.verb](event):
        notification = notification_create(
            recipient=planned.recipient,
            kind=planned.kind,
            summary=planned.summary,
            target=planned.target,
            event=event,
            url=planned.url,
            dedupe_key=f"event:{event.pk}",
        )
        created += notification is not None
    return created


def _claim(delivery_id: int) -> Delivery | None:
    """Claim a pending delivery (pending → sending, one winner); ``None`` if it is gone,
    already sent or being sent by another worker. No transaction is held while sending."""
    claimed = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return Delivery.objects.select_related("notification__recipient", "robot").get(pk=delivery_id)


def _failed(delivery: Delivery, error: str, again: Task[[int], str]) -> None:
    final = delivery.attempts >= MAX_ATTEMPTS
    status = DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
    Delivery.objects.filter(pk=delivery.pk).update(status=status, last_error=error[:500])
    if final:
        logger.warning("delivery %s failed for good: %s", delivery.pk, error)
        return
    again.using(run_after=timezone.now() + _retry_delay(delivery.attempts)).enqueue(delivery.pk)


def _sent(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="")


def absolute_url(path: str) -> str:
    return f"{settings.SALESFLOW_BASE_URL.rstrip('/')}{path}" if path else settings.SALESFLOW_BASE_URL


@task()
def deliver_email(delivery_id: int) -> str:
    """Send one notification email through Django's email backend; retried with backoff."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return "skipped"
    notification = delivery.notification
    with translation.override(settings.LANGUAGE_CODE):
        text = notification.text
        body = f"{text}\n\n{absolute_url(notification.url)}\n"
        subject = f"[{translation.gettext('Salesflow')}] {text}"[:150]
    try:
        send_mail(subject, body, None, [notification.recipient.email], fail_silently=False)
    except Exception as exc:  # any transport error (SMTP, network): retry later
        _failed(delivery, f"{type(exc).__name__}: {exc}", deliver_email)
        return "retry"
    _sent(delivery)
    return "sent"


@task()
def deliver_robot(delivery_id: int) -> str:
    """Post one notification to a group robot (WeCom, DingTalk, Feishu); retried with backoff."""
    from salesflow.notifications.transports import RobotError, send_to_robot

    delivery = _claim(delivery_id)
    if delivery is None:
        return "skipped"
    robot = delivery.robot
    notification = delivery.notification
    if robot is None or not robot.is_active:
        Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, last_error="robot disabled")
        return "skipped"
    with translation.override(settings.LANGUAGE_CODE):
        text = notification.text
    try:
        send_to_robot(robot, text=text, url=absolute_url(notification.url))
    except RobotError as exc:
        _failed(delivery, str(exc), deliver_robot)
        return "retry"
    _sent(delivery)
    return "sent"


DIGEST_EVERY = timedelta(minutes=30)


@task()
def send_daily_digests(slot: str = "") -> int:
    """Periodic job (every ``DIGEST_EVERY``): each user's digest of tasks due today and
    overdue, once per user per day. It works as of its slot's time, so a late run sends
    what was due then and a rerun of the same slot does the same (nothing new)."""
    from salesflow.notifications.digest import send_digests

    now = None
    if slot.isdigit():
        now = datetime.fromtimestamp(int(slot) * DIGEST_EVERY.total_seconds(), tz=UTC)
    return send_digests(now)
