"""Reads for the notification centre, preferences and deliveries."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from salesflow.notifications.kinds import KINDS, Channel
from salesflow.notifications.models import Notification, NotificationPreference, RobotChannel
from salesflow.users.models import User


def notifications_for(user: User, *, unread: bool = False) -> QuerySet[Notification]:
    """The user's notification centre, newest first (uses ``notification_inbox_idx``)."""
    qs = Notification.objects.filter(recipient=user, in_app=True)
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def unread_count(user: User) -> int:
    """One COUNT query (the bell)."""
    return notifications_for(user, unread=True).count()


def get_notification_for_user(user: User, pk: int) -> Notification:
    """The user's own notification ``pk``; anyone else's (or none) raises ``Http404``, like
    every other access function."""
    try:
        return Notification.objects.get(pk=pk, recipient=user)
    except Notification.DoesNotExist:
        raise Http404("notification not found") from None


def preferences_for(user: User) -> dict[tuple[str, str], bool]:
    """``{(kind, channel): enabled}`` for every kind and channel, defaults (on) included."""
    prefs = {(kind, channel): True for kind in KINDS for channel in Channel.values}
    for kind, channel, enabled in NotificationPreference.objects.filter(user=user).values_list(
        "kind", "channel", "enabled"
    ):
        if (kind, channel) in prefs:
            prefs[(kind, channel)] = enabled
    return prefs


def robots_for(user: User, kind: str) -> list[RobotChannel]:
    """Active robots that take ``kind`` for ``user``: company-wide ones and those of the user's team."""
    scope = Q(team__isnull=True)
    if user.team_id is not None:
        scope |= Q(team_id=user.team_id)
    robots = RobotChannel.objects.filter(scope, is_active=True).order_by("pk")
    return [robot for robot in robots if kind in (robot.kinds or [])]
