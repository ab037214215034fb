"""API: the caller's notifications and notification preferences."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from salesflow.notifications.models import Notification
from salesflow.notifications.schemas import (
    NotificationFilters,
    NotificationOut,
    NotificationPage,
    PreferenceItem,
    PreferencesIn,
    ReadAllOut,
    UnreadOut,
)
from salesflow.notifications.selectors import (
    get_notification_for_user,
    notifications_for,
    preferences_for,
    unread_count,
)
from salesflow.notifications.services import (
    notification_mark_all_read,
    notification_mark_read,
    notification_preferences_set,
)
from salesflow.users.models import User

router = Router(tags=["notifications"])


def _out(n: Notification) -> NotificationOut:
    return NotificationOut(
        id=n.pk,
        kind=n.kind,
        text=n.text,
        summary=n.summary if isinstance(n.summary, dict) else {},
        url=n.url,
        target_type=n.target_type.model if n.target_type_id and n.target_type else None,
        target_id=n.target_id,
        read_at=n.read_at,
        created_at=n.created_at,
    )


def _preferences(user: User) -> list[PreferenceItem]:
    return [
        PreferenceItem(kind=kind, channel=channel, enabled=enabled)  # type: ignore[arg-type]
        for (kind, channel), enabled in preferences_for(user).items()
    ]


@router.get("", response=NotificationPage, summary="The caller's notifications, newest first")
def notification_list(request: HttpRequest, filters: Query[NotificationFilters]) -> NotificationPage:
    user: User = request.user  # type: ignore[assignment]
    qs = notifications_for(user, unread=filters.unread).select_related("target_type")
    items = [_out(n) for n in qs[filters.offset : filters.offset + filters.limit]]
    return NotificationPage(count=qs.count(), items=items)


@router.get("/unread-count", response=UnreadOut, summary="How many notifications are unread")
def notification_unread_count(request: HttpRequest) -> UnreadOut:
    user: User = request.user  # type: ignore[assignment]
    return UnreadOut(unread=unread_count(user))


@router.post("/read-all", response=ReadAllOut, summary="Mark every notification read")
def notification_read_all(request: HttpRequest) -> ReadAllOut:
    user: User = request.user  # type: ignore[assignment]
    return ReadAllOut(marked=notification_mark_all_read(actor=user))


@router.get("/preferences", response=list[PreferenceItem], summary="Which notification types arrive on which channel")
def preferences_get(request: HttpRequest) -> list[PreferenceItem]:
    user: User = request.user  # type: ignore[assignment]
    return _preferences(user)


@router.put("/preferences", response=list[PreferenceItem], summary="Change notification preferences")
def preferences_put(request: HttpRequest, payload: PreferencesIn) -> list[PreferenceItem]:
    user: User = request.user  # type: ignore[assignment]
    notification_preferences_set(
        actor=user, user=user, changes={(item.kind, item.channel): item.enabled for item in payload.preferences}
    )
    return _preferences(user)


@router.post("/{int:notification_id}/read", response=NotificationOut, summary="Mark one notification read")
def notification_read(request: HttpRequest, notification_id: int) -> NotificationOut:
    user: User = request.user  # type: ignore[assignment]
    notification = get_notification_for_user(user, notification_id)
    return _out(notification_mark_read(actor=user, notification=notification))
