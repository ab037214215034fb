"""The private calendar feed (ICS, issue 7), written with the ``icalendar`` library.

Planned activities are timed events in UTC (``DTSTART`` ending in ``Z``), 30 minutes long;
accounts' next follow-up due dates are all-day events (``VALUE=DATE``). UIDs are stable,
so calendar clients update events in place when the feed changes.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from urllib.parse import urljoin

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from salesflow.activities.selectors import CalendarItems
from salesflow.users.models import User

EVENT_LENGTH = timedelta(minutes=30)


def build_calendar(user: User, items: CalendarItems, *, base_url: str) -> bytes:
    """The feed of ``user``'s ``items`` as ICS bytes; links are made absolute with ``base_url``."""
    cal = Calendar()
    cal.add("prodid", "-//Salesflow//Follow-ups//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("Salesflow: %(user)s") % {"user": user})
    stamp = timezone.now().astimezone(UTC).replace(microsecond=0)
    for activity in items.activities:
        assert activity.due_at is not None
        event = Event()
        event.add("uid", f"activity-{activity.pk}@salesflow")
        event.add("dtstamp", stamp)
        start = activity.due_at.astimezone(UTC).replace(microsecond=0)
        event.add("dtstart", start)
        event.add("dtend", start + EVENT_LENGTH)
        event.add("summary", f"{activity.get_kind_display()}: {activity.subject}")
        record = activity.opportunity or activity.account or activity.lead or activity.contact
        if record is not None:
            event.add("description", str(record))
        event.add("url", urljoin(base_url, reverse("activities:detail", args=[activity.pk])))
        cal.add_component(event)
    for account in items.accounts:
        assert account.next_follow_up_due is not None
        event = Event()
        event.add("uid", f"account-{account.pk}-follow-up@salesflow")
        event.add("dtstamp", stamp)
        event.add("dtstart", account.next_follow_up_due)
        event.add("dtend", account.next_follow_up_due + timedelta(days=1))
        event.add("summary", _("Follow up: %(account)s") % {"account": account.name})
        event.add("url", urljoin(base_url, reverse("accounts:detail", args=[account.pk])))
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    body: bytes = cal.to_ical()
    return body
