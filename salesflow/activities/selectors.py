"""Reads for activities: the filtered list, a record's activities and the "My day" page.

Every queryset is limited by ``activities_visible_to`` and loads the owner and the linked
records, so templates and API schemas never query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Generic, TypeVar

from django.db.models import Exists, F, Model, OrderBy, OuterRef, Q, QuerySet
from django.utils import timezone

from salesflow.activities.models import Activity
from salesflow.activities.permissions import activities_visible_to
from salesflow.leads.models import Lead
from salesflow.parties.models import Account, Contact
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.sales.permissions import opportunities_visible_to
from salesflow.users.models import User

# Public sort keys → ascending columns; each pair is backed by an index (activity_created_idx, activity_due_idx).
SORTS: dict[str, tuple[str, ...]] = {"created": ("created_at", "id"), "due": ("due_at", "id")}
DEFAULT_SORT = "-created"
MY_DAY_LIMIT = 20
RELATED = ("owner", "lead", "account", "contact", "opportunity")

T = TypeVar("T", bound=Model)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of ``day`` in the current time zone, as aware datetimes."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    return start, end


def _ordering(sort: str) -> list[OrderBy]:
    desc = sort.startswith("-")
    base = sort.lstrip("-")
    if base not in SORTS:
        desc, base = DEFAULT_SORT.startswith("-"), DEFAULT_SORT.lstrip("-")
    # Undated activities go last in both directions, on SQLite and PostgreSQL alike. The other
    # columns are NOT NULL and keep a plain ORDER BY, which their index serves.
    return [
        (F(column).desc(nulls_last=True) if desc else F(column).asc(nulls_last=True))
        if column == "due_at"
        else (F(column).desc() if desc else F(column).asc())
        for column in SORTS[base]
    ]


def normalize_sort(sort: str) -> str:
    """``sort`` if it is a whitelisted key (optionally ``-``-prefixed), else the default."""
    return sort if sort.lstrip("-") in SORTS else DEFAULT_SORT


def activity_list(
    user: User,
    *,
    q: str = "",
    kind: str = "",
    done: bool | None = None,
    owner: int | None = None,
    due_from: date | None = None,
    due_to: date | None = None,
    sort: str = DEFAULT_SORT,
    lead: int | None = None,
    account: int | None = None,
    contact: int | None = None,
    opportunity: int | None = None,
) -> QuerySet[Activity]:
    """Visible activities filtered and sorted for the list page and the API.

    ``q`` searches the subject; ``due_from``/``due_to`` are inclusive local dates; the
    record ids (already checked by the caller's access functions) narrow the list to
    one record's activities. ``sort`` is ``created``/``due`` with an optional ``-``.
    """
    qs = activities_visible_to(user).select_related(*RELATED)
    q = q.strip()
    if q:
        qs = qs.filter(subject__icontains=q)
    if kind:
        qs = qs.filter(kind=kind)
    if done is not None:
        qs = qs.filter(done=done)
    if owner is not None:
        qs = qs.filter(owner_id=owner)
    if due_from is not None:
        qs = qs.filter(due_at__gte=day_bounds(due_from)[0])
    if due_to is not None:
        qs = qs.filter(due_at__lt=day_bounds(due_to)[1])
    for field, value in (("lead", lead), ("account", account), ("contact", contact), ("opportunity", opportunity)):
        if value is not None:
            qs = qs.filter(**{f"{field}_id": value})
    return qs.order_by(*_ordering(sort))


def activities_for_record(
    user: User,
    *,
    lead: Lead | None = None,
    account: Account | None = None,
    contact: Contact | None = None,
    opportunity: Opportunity | None = None,
) -> QuerySet[Activity]:
    """Activities of exactly one record, newest first (the record panel).

    An account's activities include those logged on its contacts and opportunities,
    because activities always carry their account. The caller has checked that the
    record is visible; the result is still limited to visible activities.
    """
    given = {
        name: obj
        for name, obj in (("lead", lead), ("account", account), ("contact", contact), ("opportunity", opportunity))
        if obj is not None
    }
    if len(given) != 1:
        raise ValueError("activities_for_record() needs exactly one record")
    ((name, obj),) = given.items()
    return (
        activities_visible_to(user)
        .filter(**{f"{name}_id": obj.pk})
        .select_related(*RELATED)
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class Section(Generic[T]):
    """The first rows of a My day card and how many there are in all."""

    items: list[T]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.items)


@dataclass(frozen=True)
class MyDay:
    today: date
    overdue: Section[Activity]
    due_today: Section[Activity]
    follow_ups: Section[Activity]
    no_next_step: Section[Opportunity]


def _section(qs: QuerySet[T], limit: int) -> Section[T]:
    return Section(items=list(qs[:limit]), total=qs.count())


def _followed_up() -> Q:
    """An activity is followed up when its owner logged a newer activity on the same record.

    "The same record" is the activity's most specific link: its opportunity, else its
    contact, else its account, else its lead. Activities without any link are never
    followed up this way (their owner clears or moves ``next_follow_up`` instead).
    """
    newer = Activity.objects.filter(owner_id=OuterRef("owner_id"), created_at__gt=OuterRef("created_at"))
    return (
        (Q(opportunity__isnull=False) & Exists(newer.filter(opportunity_id=OuterRef("opportunity_id"))))
        | (Q(opportunity__isnull=True, contact__isnull=False) & Exists(newer.filter(contact_id=OuterRef("contact_id"))))
        | (
            Q(opportunity__isnull=True, contact__isnull=True, account__isnull=False)
            & Exists(newer.filter(account_id=OuterRef("account_id")))
        )
        | (
            Q(opportunity__isnull=True, contact__isnull=True, account__isnull=True, lead__isnull=False)
            & Exists(newer.filter(lead_id=OuterRef("lead_id")))
        )
    )


def my_day(user: User, today: date, *, limit: int = MY_DAY_LIMIT) -> MyDay:
    """What ``user`` should work on ``today`` (their own records only), four bounded lists:

    - ``overdue``: their open activities due before today, oldest first;
    - ``due_today``: their open activities due today, by time;
    - ``follow_ups``: their activities whose ``next_follow_up`` is today or earlier and
      that have not been followed up (no newer activity of theirs on the same record,
      see ``_followed_up``), earliest first;
    - ``no_next_step``: their open opportunities without a next step or whose next-step
      date has passed, most overdue first (through ``opportunities_visible_to``).

    At most ``limit`` rows each plus the total: two queries per list, whatever the data.
    """
    start, end = day_bounds(today)
    mine = Activity.objects.filter(owner=user).select_related(*RELATED)
    overdue = mine.filter(done=False, due_at__lt=start).order_by("due_at", "id")
    due_today = mine.filter(done=False, due_at__gte=start, due_at__lt=end).order_by("due_at", "id")
    follow_ups = (
        mine.filter(next_follow_up__lte=today).filter(~_followed_up()).order_by("next_follow_up", "created_at", "id")
    )
    deals = (
        opportunities_visible_to(user)
        .filter(owner=user, outcome=Outcome.OPEN)
        .filter(Q(next_step="") | Q(next_step_date__lt=today))
        .select_related("account", "stage")
        .order_by(F("next_step_date").asc(nulls_first=True), "id")
    )
    return MyDay(
        today=today,
        overdue=_section(overdue, limit),
        due_today=_section(due_today, limit),
        follow_ups=_section(follow_ups, limit),
        no_next_step=_section(deals, limit),
    )
