"""The daily digest: each user's open tasks due today and overdue, once per user per day.

"Today" is the user's own day: :func:`user_zone` gives their time zone (the ``TIME_ZONE``
setting until users have a ``time_zone`` field, which it then picks up). The job runs every
half hour and sends each user's digest at the first run after ``DIGEST_AT`` in their zone;
the notification's dedupe key ``digest:<their date>`` makes it once per user per day even if
the job runs twice or concurrently.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salesflow.activities.models import Activity
from salesflow.notifications.kinds import DAILY_DIGEST
from salesflow.notifications.models import Notification
from salesflow.users.models import User

DIGEST_AT = time(7, 30)
LISTED = 5


def user_zone(user: User) -> zoneinfo.ZoneInfo:
    """The user's time zone (the site's until users carry their own ``time_zone``)."""
    return zoneinfo.ZoneInfo(getattr(user, "time_zone", "") or settings.TIME_ZONE)


@dataclass(frozen=True)
class Digest:
    day: str
    due_today: int
    overdue: int
    subjects: list[str]

    def summary(self) -> str:
        parts = []
        if self.due_today:
            parts.append(
                ngettext("%(count)d task due today", "%(count)d tasks due today", self.due_today)
                % {"count": self.due_today}
            )
        if self.overdue:
            parts.append(ngettext("%(count)d overdue", "%(count)d overdue", self.overdue) % {"count": self.overdue})
        text = _("Your day: %(counts)s.") % {"counts": _(", ").join(parts)}
        if self.subjects:
            # "<counts>. <subjects>"; Chinese needs no space after its full stop.
            text = _("%(counts)s %(items)s") % {"counts": text, "items": " · ".join(self.subjects)}
        return text


def digest_for(user: User, now: datetime) -> Digest | None:
    """The user's digest at ``now`` (``None`` before ``DIGEST_AT`` their time or with nothing due)."""
    local = now.astimezone(user_zone(user))
    if local.time() < DIGEST_AT:
        return None
    start = datetime.combine(local.date(), time.min, tzinfo=local.tzinfo)
    end = start + timedelta(days=1)
    open_due = Activity.objects.filter(owner=user, done=False, due_at__lt=end)
    counts = open_due.aggregate(
        overdue=Count("pk", filter=Q(due_at__lt=start)), today=Count("pk", filter=Q(due_at__gte=start))
    )
    if not counts["overdue"] and not counts["today"]:
        return None
    subjects = list(open_due.order_by("due_at", "id").values_list("subject", flat=True)[:LISTED])
    return Digest(local.date().isoformat(), counts["today"], counts["overdue"], subjects)


def send_digests(now: datetime | None = None) -> int:
    """Create today's digest for every active user who has open tasks due; returns how many."""
    from salesflow.notifications.services import notification_create

    now = now or timezone.now()
    # Anyone whose day could have started already (time zones run up to UTC+14).
    horizon = now + timedelta(days=1, hours=14)
    owner_ids = (
        Activity.objects.filter(done=False, due_at__lt=horizon, owner__is_active=True)
        .values_list("owner_id", flat=True)
        .distinct()
    )
    created = 0
    for user in User.objects.filter(pk__in=owner_ids).order_by("pk"):
        digest = digest_for(user, now)
        if digest is None:
            continue
        key = f"digest:{digest.day}"
        if Notification.objects.filter(recipient=user, dedupe_key=key).exists():
            continue
        notification = notification_create(
            recipient=user, kind=DAILY_DIGEST, summary=digest.summary, dedupe_key=key, url=reverse("home")
        )
        created += notification is not None
    return created
