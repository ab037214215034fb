"""Reads for activities: the filtered list, a record's activities and the "My day" page.

Every queryset is limited by ``activities_visible_to`` and loads the owner and the linked
records, so templates and API schemas never query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Generic, TypeVar

from django.db.models import Count, Exists, F, Model, OrderBy, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from salesflow.activities.choices import ActivityKind
from salesflow.activities.models import Activity, ActivityKindConfig, FollowUpEscalationStep
from salesflow.activities.permissions import activities_owned_by_scope, activities_visible_to
from salesflow.leads.models import Lead
from salesflow.leads.permissions import leads_visible_to
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import accounts_visible_to, contacts_visible_to
from salesflow.sales.choices import Outcome, StageKind
from salesflow.sales.models import Opportunity, Stage
from salesflow.sales.permissions import opportunities_visible_to
from salesflow.sales.selectors import stall_rules
from salesflow.sales.selectors import stalled_q as sales_stalled_q
from salesflow.users.choices import Role
from salesflow.users.models import User
from salesflow.users.permissions import visible_owner_ids

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
    owned: bool = False,
) -> QuerySet[Activity]:
    """Visible activities filtered and sorted for the list page and the API.

    ``q`` searches the subject; ``due_from``/``due_to`` are inclusive local dates; the
    record ids (already checked by the caller's access functions) narrow the list to
    one record's activities. ``sort`` is ``created``/``due`` with an optional ``-``.
    ``owned``: only the activities owned in the user's scope (a subset of the visible ones,
    read from the owner indexes: the API's count floor, ``core.keyset.api_page``).
    """
    rows = activities_owned_by_scope(user) if owned else activities_visible_to(user)
    qs = rows.select_related(*RELATED)
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
    #: their open deals whose expected close date has passed
    past_close: Section[Opportunity] | None = None
    #: the team view of a manager (team subtree) or an assistant (delegated reps), else None
    team: TeamDay | None = None
    #: their accounts whose next follow-up is due today or overdue (issue 7), most overdue first
    accounts_due: Section[Account] | None = None

    @property
    def all_clear(self) -> bool:
        """Nothing at all to act on, the user's own work and the team's: only then "well done"."""
        own = (self.overdue, self.due_today, self.follow_ups, self.no_next_step, self.past_close, self.accounts_due)
        return all(s is None or s.total == 0 for s in own) and (self.team is None or self.team.all_clear)


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
      date has passed, most overdue first (through ``opportunities_visible_to``);
    - ``past_close``: their open opportunities whose expected close date has passed;
    - ``accounts_due``: their accounts whose next follow-up (issue 7) is due today or overdue;
    - ``team``: for a manager or an assistant, the team sections (``team_day``).

    At most ``limit`` rows each plus the total: two queries per list, whatever the data.
    """
    start, end = day_bounds(today)
    mine = Activity.objects.filter(owner=user).select_related(*RELATED)
    overdue = mine.filter(done=False, due_at__lt=start).order_by("due_at", "id")
    due_today = mine.filter(done=False, due_at__gte=start, due_at__lt=end).order_by("due_at", "id")
    follow_ups = (
        mine.filter(next_follow_up__lte=today).filter(~_followed_up()).order_by("next_follow_up", "created_at", "id")
    )
    my_open_deals = opportunities_visible_to(user).filter(owner=user, outcome=Outcome.OPEN)
    deals = (
        my_open_deals.filter(Q(next_step="") | Q(next_step_date__lt=today))
        .select_related("account", "stage")
        .order_by(F("next_step_date").asc(nulls_first=True), "id")
    )
    # (owner, outcome) is the prefix of opp_owner_next_idx; the date filter runs over the few
    # open deals of one owner
    past_close = (
        my_open_deals.filter(expected_close_date__lt=today)
        .select_related("account", "stage")
        .order_by("expected_close_date", "id")
    )
    # (owner, next_follow_up_due) is account_owner_follow_due_idx
    accounts_due = (
        Account.objects.filter(owner=user, next_follow_up_due__lte=today)
        .only("pk", "name", "grade", "next_follow_up_due", "last_follow_up_at", "at_risk_since", "owner_id")
        .order_by("next_follow_up_due", "id")
    )
    team_ids = team_scope_ids(user)
    return MyDay(
        accounts_due=_section(accounts_due, limit),
        today=today,
        overdue=_section(overdue, limit),
        due_today=_section(due_today, limit),
        follow_ups=_section(follow_ups, limit),
        no_next_step=_section(deals, limit),
        past_close=_section(past_close, limit),
        team=team_day(user, today, team_ids, limit=limit) if team_ids else None,
    )


# --- the team view of My day ----------------------------------------------------------------


def team_scope_ids(user: User) -> set[int] | None:
    """Whose work ``user``'s home page shows beside their own: a manager's team subtree and an
    assistant's delegated reps (both include the user), from the visibility policy's owner
    scope. ``None`` for everyone else (reps and support see their own day; administrators,
    whose scope is everyone, use the lists)."""
    if user.role not in (Role.MANAGER, Role.ASSISTANT):
        return None
    ids = visible_owner_ids(user)
    if ids is None or ids <= {user.pk}:
        return None
    return set(ids)


@dataclass(frozen=True)
class RepCount:
    """One team member and how many of their tasks are overdue."""

    owner_id: int
    name: str
    count: int


@dataclass(frozen=True)
class TeamDay:
    """What a manager (or an assistant) should look at across the team today."""

    members: int
    overdue_by_rep: list[RepCount]
    overdue: Section[Activity]
    stalled: Section[Opportunity]
    no_next_step: Section[Opportunity]
    closing_this_month: Section[Opportunity]
    past_close: Section[Opportunity]
    done_today: Section[Activity]
    at_risk: Section[Account]

    @property
    def all_clear(self) -> bool:
        """Nothing to act on (today's done activities are news, not work)."""
        return not any(
            s.total
            for s in (
                self.overdue,
                self.stalled,
                self.no_next_step,
                self.closing_this_month,
                self.past_close,
                self.at_risk,
            )
        )


def stalled_q(now: datetime) -> Q:
    """Open deals stalled at ``now`` under the board's rule (``sales.selectors.stalled_q``:
    the stage's threshold or the owner's team's 80th percentile, whichever is passed first),
    as one condition (two queries: the stages and the team percentiles)."""
    return sales_stalled_q(now)


def month_bounds(today: date) -> tuple[date, date]:
    """First and last day of ``today``'s month."""
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _first_of_team(rows: QuerySet[Any], owners: list[int], order: tuple[str, ...], limit: int) -> Q:
    """``pk IN (…)``: the first ``limit`` of ``rows`` of ``owners`` in ``order``, as a subquery
    that reads only the list's own table. Joined to the related rows a list shows, SQLite
    chose to walk the whole table in the list's order (1.1 s of CPU for a manager at bench
    scale 1.0); alone, the subquery reads the owner index range (0.3 s)."""
    return Q(pk__in=rows.filter(owner_id__in=owners).order_by(*order).values("pk")[:limit])


def team_day(user: User, today: date, team_ids: set[int], *, limit: int = MY_DAY_LIMIT) -> TeamDay:
    """The team sections of My day over the work of ``team_ids`` (see ``team_scope_ids``):

    - ``overdue_by_rep``: open activities due before today, counted per owner (most first),
      and ``overdue``: the oldest of them with their owner;
    - ``stalled``: open deals past their stage's ``rotting_days``, longest in stage first;
    - ``no_next_step``: open deals without a next-step date;
    - ``closing_this_month``: open deals whose (expected) close date is in this month;
    - ``past_close``: open deals whose expected close date has passed;
    - ``done_today``: activities the team completed today, latest first;
    - ``at_risk``: the team's accounts marked at risk by the follow-up ladder (issue 7),
      longest at risk first, with their owner.

    Every row comes from an owner in ``team_ids``, the user's own ownership scope, so it is
    visible to them by the ownership rule (no visibility test is needed). Every query is
    one ``owner_id IN (team)`` range of an index with ``owner`` first (named below): the
    counts read it index-only, each list reads it in the list's order and stops at
    ``limit`` (a ``UNION ALL`` of one ``LIMIT``-ed range per owner was tried and measured
    slower at bench scale 1.0: compiling the stall rule once per owner cost more than the
    ranges saved, 1.1 s of CPU on PostgreSQL); the deal lists instead walk a partial index of
    the open deals in the list's order (``opp_open_close_idx``, ``opp_open_entered_idx``) and
    test the owner inside the index, so they stop after about ``limit`` / (the team's share of
    the open deals) entries; today's done activities (few) are one range
    of ``activity_done_at_idx``. At most thirteen queries whatever the team size
    or the number of rows: the overdue count per member (one correlated index-only count per
    member, in one query), one aggregate of the four deal counts, two for the stall rule
    (open stages, team percentiles), one list per section (seven) and one count each for
    today's work and the accounts at risk.
    """
    now = timezone.now()
    start, end = day_bounds(today)
    first, last = month_bounds(today)
    owners = sorted(team_ids)
    # activity_owner_open_due_idx (owner, due_at, id; open activities only): one index-only
    # count per member, correlated to the team's user rows. Grouping the joined rows instead
    # (activities ⋈ users GROUP BY owner, name) made SQLite loop over the users and look up
    # every overdue activity's table row (11 ms for 6,000 rows at bench scale 0.1) and
    # PostgreSQL hash every row.
    overdue = Activity.objects.filter(done=False, due_at__lt=start)
    per_owner = overdue.filter(owner_id=OuterRef("pk")).order_by().values("owner_id").annotate(n=Count("pk"))
    per_rep = [
        RepCount(owner_id=pk, name=display_name or username, count=n)
        for pk, display_name, username, n in User.objects.filter(pk__in=owners)
        .annotate(n=Subquery(per_owner.values("n")))
        .order_by(F("n").desc(nulls_last=True), "display_name", "pk")
        .values_list("pk", "display_name", "username", "n")
        if n
    ]
    overdue_total = sum(r.count for r in per_rep)

    def activities(rows: QuerySet[Activity], total: int, *order: str) -> Section[Activity]:
        if not total:
            return Section(items=[], total=0)
        picked = Activity.objects.filter(_first_of_team(rows, owners, order, limit))
        return Section(items=list(picked.select_related(*RELATED).order_by(*order)[:limit]), total=total)

    # The team's open deals. opp_owner_day_idx (owner, outcome, stage_entered_at, stage,
    # expected_close_date, next_step_date) holds every column the four counts test, so they
    # are one index-only range per owner; the stall rule is tested in its per-row form (one
    # CASE comparison per deal instead of an OR of a range per stage, ``StallRules.q_per_row``).
    open_deals = Opportunity.objects.filter(outcome=Outcome.OPEN)
    stages = list(Stage.objects.filter(kind=StageKind.OPEN))
    rules = stall_rules()
    stalled = rules.q(stages, now)
    no_next = Q(next_step_date__isnull=True)
    # for open deals ``close_date`` is ``expected_close_date`` (sales keeps them equal); the
    # expected date is read here so the rule holds for rows written before that column existed
    closing = Q(expected_close_date__gte=first, expected_close_date__lte=last)
    past = Q(expected_close_date__lt=today)
    counts = (
        open_deals.filter(owner_id__in=owners)
        .order_by()
        .aggregate(
            stalled=Count("id", filter=rules.q_per_row(stages, now)),
            no_next=Count("id", filter=no_next),
            closing=Count("id", filter=closing),
            past=Count("id", filter=past),
        )
    )

    def deal_section(cond: Q, total: int, *order: str) -> Section[Opportunity]:
        if not total:
            return Section(items=[], total=0)
        picked = Opportunity.objects.filter(_first_of_team(open_deals.filter(cond), owners, order, limit))
        return Section(
            items=list(picked.select_related("account", "owner", "stage").order_by(*order)[:limit]), total=total
        )

    done_today = Activity.objects.filter(owner_id__in=owners, done=True, done_at__gte=start, done_at__lt=end)
    # account_owner_at_risk_idx (owner, at_risk_since; partial: only accounts at risk)
    at_risk = Account.objects.filter(at_risk_since__isnull=False)
    at_risk_total = at_risk.filter(owner_id__in=owners).count()
    at_risk_items: list[Account] = []
    if at_risk_total:
        at_risk_items = list(
            Account.objects.filter(_first_of_team(at_risk, owners, ("at_risk_since", "id"), limit))
            .select_related("owner")
            .only(
                "pk",
                "name",
                "grade",
                "at_risk_since",
                "last_follow_up_at",
                "owner_id",
                "owner__display_name",
                "owner__username",
            )
            .order_by("at_risk_since", "id")[:limit]
        )
    return TeamDay(
        members=len(team_ids),
        overdue_by_rep=per_rep,
        overdue=activities(Activity.objects.filter(done=False, due_at__lt=start), overdue_total, "due_at", "id"),
        # opp_open_entered_idx (stage_entered_at, id, owner, stage; open deals only) walked
        # from the oldest: the stalled ones come first, the owner is tested in the index
        stalled=deal_section(stalled, counts["stalled"], "stage_entered_at", "id"),
        # opp_owner_no_next_idx (owner, outcome, next_step_date, created_at, id) or
        # opp_created_idx, as the planner prefers (both stop early or read few rows)
        no_next_step=deal_section(no_next, counts["no_next"], "created_at", "id"),
        # opp_open_close_idx (expected_close_date, id, owner; open deals only) from the first
        # of the month / from the start: the global opp_close_date_idx walked every closed deal
        # of the past first (PostgreSQL: 13,000 rows for 20 at bench scale 0.1)
        closing_this_month=deal_section(closing, counts["closing"], "expected_close_date", "id"),
        past_close=deal_section(past, counts["past"], "expected_close_date", "id"),
        # today's done rows are few: one range of activity_done_at_idx (done_at, id), read
        # backwards (per owner, SQLite chose that same company-wide range in every arm: 1 s)
        done_today=_section(done_today.select_related(*RELATED).order_by("-done_at", "-id"), limit),
        at_risk=Section(items=at_risk_items, total=at_risk_total),
    )


# --- remote search for the activity form's link fields -------------------------------------


def link_search(user: User, kind: str, q: str, *, limit: int = 10) -> list[Model]:
    """Up to ``limit`` records of ``kind`` (lead, account, contact, opportunity) that ``user``
    may see, whose name (or a lead's company) contains ``q`` (any name when ``q`` is blank), by name. One query;
    contacts and deals come with their account, for their labels."""
    rows: QuerySet[Any]
    if kind == "lead":
        rows = leads_visible_to(user)
    elif kind == "account":
        rows = accounts_visible_to(user)
    elif kind == "contact":
        rows = contacts_visible_to(user).select_related("account")
    elif kind == "opportunity":
        rows = opportunities_visible_to(user).select_related("account")
    else:
        raise ValueError(f"unknown kind {kind!r}")
    if q:
        cond = Q(name__icontains=q)
        if kind == "lead":
            cond |= Q(company_name__icontains=q)
        rows = rows.filter(cond)
    return list(rows.order_by("name", "id")[:limit])


# --- follow-up discipline (issue 7) ----------------------------------------------------------


def kind_configs() -> dict[str, ActivityKindConfig]:
    """The stored activity-type settings by kind (one query)."""
    return {config.kind: config for config in ActivityKindConfig.objects.all()}


def kind_requirements() -> dict[str, dict[str, bool]]:
    """For forms and scripts: kind → {"outcome": …, "next_follow_up": …} required when done."""
    return {
        kind: {"outcome": config.needs_outcome, "next_follow_up": config.needs_next_follow_up}
        for kind, config in kind_configs().items()
    }


def counting_kinds() -> list[str]:
    """Kinds whose done activities count as a follow-up of their account (no row: counts)."""
    configs = kind_configs()
    return [kind for kind in ActivityKind.values if kind not in configs or configs[kind].counts_as_follow_up]


def escalation_steps() -> list[FollowUpEscalationStep]:
    return list(FollowUpEscalationStep.objects.order_by("position"))


#: the calendar feed's window (issue 7)
CALENDAR_PAST_DAYS = 30
CALENDAR_FUTURE_DAYS = 180
CALENDAR_MAX_ITEMS = 2000


@dataclass(frozen=True)
class CalendarItems:
    activities: list[Activity]
    accounts: list[Account]


def calendar_items(user: User, now: datetime) -> CalendarItems:
    """What ``user``'s calendar feed holds: their activities with a due time that are not
    done, from 30 days ago to 180 days ahead (``activity_owner_due_idx``), and their
    accounts' next follow-up due dates in the same window (``account_owner_follow_due_idx``).
    Only the user's own rows: two queries, at most ``CALENDAR_MAX_ITEMS`` each."""
    start = now - timedelta(days=CALENDAR_PAST_DAYS)
    end = now + timedelta(days=CALENDAR_FUTURE_DAYS)
    activities = list(
        Activity.objects.filter(owner=user, done=False, due_at__gte=start, due_at__lt=end)
        .select_related("account", "opportunity", "lead", "contact")
        .order_by("due_at", "id")[:CALENDAR_MAX_ITEMS]
    )
    accounts = list(
        Account.objects.filter(owner=user, next_follow_up_due__gte=start.date(), next_follow_up_due__lt=end.date())
        .only("pk", "name", "grade", "next_follow_up_due")
        .order_by("next_follow_up_due", "id")[:CALENDAR_MAX_ITEMS]
    )
    return CalendarItems(activities=activities, accounts=accounts)
