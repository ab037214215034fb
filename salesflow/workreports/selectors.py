"""Reads of work reports: the facts of a period (what the report is pre-filled with), the
author's own list, the team page of a day or week, and the API list.

The facts are computed over the author's OWN records in the period, in the report's time
zone: activities they completed (``done_at``), stage changes of the deals they own, leads
and deals they own that were created, and their deals won or lost by the actual close date
(``closed_on``). Every read starts from the visibility policy (``reports_visible_to``,
``team_authors_for``); query counts do not grow with the rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from salesflow.activities.models import Activity
from salesflow.leads.models import Lead
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity, StageChange
from salesflow.sales.permissions import opportunities_visible_to
from salesflow.users.models import User, time_zone_names
from salesflow.workreports import periods
from salesflow.workreports.choices import ReportKind, ReportStatus
from salesflow.workreports.models import WorkReport, WorkReportComment
from salesflow.workreports.permissions import reports_visible_to, team_authors_for

#: Rows listed per kind of fact (the counts are always complete).
LIST_LIMIT = 100
FACTS_VERSION = 1
COUNT_KEYS = ("activities", "stage_moves", "new_leads", "new_deals", "won", "lost")


def zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name if name in time_zone_names() else settings.TIME_ZONE)


def _names(obj: Any) -> dict[str, str] | None:
    """A configuration row's name in both languages (a snapshot must read the same later)."""
    if obj is None:
        return None
    return {"en": obj.name_en or obj.name_zh, "zh": obj.name_zh or obj.name_en}


def _ref(obj: Any) -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.pk, "name": str(getattr(obj, "name", obj))}


def _money(amount: Decimal | None) -> str:
    return str(amount if amount is not None else Decimal("0.00"))


def stage_moves_of(author_id: int, since: datetime, until: datetime) -> QuerySet[StageChange]:
    """The stage moves a work report counts (a deal's first stage is not a move): those on
    deals the author owned at the time of the move (``StageChange.owner``, the snapshot —
    a deal reassigned later stays in the report of the period it was moved in), whoever
    moved them — a manager's override is progress of the author's pipeline — and those the
    author made (``changed_by``) on other people's deals the author may still see (shared,
    delegated, a teammate's deal they helped with). Indexes ``stagechange_owner_idx`` and
    ``stagechange_actor_idx``."""
    author = User.objects.filter(pk=author_id).first()
    visible = opportunities_visible_to(author).values("pk") if author is not None else Opportunity.objects.none()
    return StageChange.objects.filter(changed_at__gte=since, changed_at__lt=until, from_stage__isnull=False).filter(
        Q(owner_id=author_id) | Q(changed_by_id=author_id, opportunity_id__in=visible)
    )


def report_facts(*, author_id: int, kind: str, period_start: date, time_zone: str) -> dict[str, Any]:
    """The facts of ``author_id``'s ``kind`` period starting ``period_start`` in ``time_zone``
    as a JSON-safe dict (what a submitted report stores). A fixed number of queries."""
    start, end = periods.period_of(kind, period_start)
    since, until = periods.bounds(start, end, zone_named(time_zone))

    done = Activity.objects.filter(owner_id=author_id, done=True, done_at__gte=since, done_at__lt=until)
    by_kind = {row["kind"]: row["n"] for row in done.order_by().values("kind").annotate(n=Count("pk"))}
    activities = [
        {
            "id": a.pk,
            "kind": a.kind,
            "subject": a.subject,
            "done_at": a.done_at.isoformat() if a.done_at else None,
            "account": _ref(a.account),
            "opportunity": _ref(a.opportunity),
            "lead": _ref(a.lead),
        }
        for a in done.select_related("account", "opportunity", "lead").order_by("done_at", "id")[:LIST_LIMIT]
    ]

    moved = stage_moves_of(author_id, since, until)
    move_count = moved.count()
    moves = [
        {
            "id": m.pk,
            "opportunity": _ref(m.opportunity),
            "from": _names(m.from_stage),
            "to": _names(m.to_stage),
            "changed_at": m.changed_at.isoformat(),
            "regression": m.from_position is not None and m.to_position is not None and m.to_position < m.from_position,
            # who moved it, when not the author (a manager's override, an assistant); whose
            # deal it was, when not the author's (a shared or delegated deal the author moved)
            "moved_by": _ref(m.changed_by) if m.changed_by_id not in (None, author_id) else None,
            "owner": _ref(m.owner) if m.owner_id not in (None, author_id) else None,
        }
        for m in moved.select_related("opportunity", "from_stage", "to_stage", "changed_by", "owner").order_by(
            "changed_at", "id"
        )[:LIST_LIMIT]
    ]

    leads_qs = Lead.objects.filter(owner_id=author_id, created_at__gte=since, created_at__lt=until)
    lead_count = leads_qs.count()
    leads = [
        {"id": lead.pk, "name": lead.name, "company": lead.company_name}
        for lead in leads_qs.order_by("created_at", "id")[:LIST_LIMIT]
    ]

    deals_qs = Opportunity.objects.filter(owner_id=author_id, created_at__gte=since, created_at__lt=until)
    deal_count = deals_qs.count()
    deals = [
        {"id": d.pk, "name": d.name, "amount": _money(d.amount), "currency": d.currency}
        for d in deals_qs.order_by("created_at", "id")[:LIST_LIMIT]
    ]

    closed = list(
        Opportunity.objects.filter(
            owner_id=author_id, outcome__in=[Outcome.WON, Outcome.LOST], closed_on__gte=start, closed_on__lte=end
        )
        .select_related("lost_reason")
        .order_by("closed_on", "id")
    )
    won_total: dict[str, Decimal] = {}
    for deal in closed:
        if deal.outcome == Outcome.WON:
            won_total[deal.currency] = won_total.get(deal.currency, Decimal("0")) + (deal.amount or Decimal("0"))

    def closed_row(d: Opportunity) -> dict[str, Any]:
        return {
            "id": d.pk,
            "name": d.name,
            "amount": _money(d.amount),
            "currency": d.currency,
            "closed_on": d.closed_on.isoformat() if d.closed_on else None,
            "reason": _names(d.lost_reason),
        }

    won = [closed_row(d) for d in closed if d.outcome == Outcome.WON]
    lost = [closed_row(d) for d in closed if d.outcome == Outcome.LOST]
    return {
        "version": FACTS_VERSION,
        "time_zone": time_zone,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "counts": {
            "activities": sum(by_kind.values()),
            "stage_moves": move_count,
            "new_leads": lead_count,
            "new_deals": deal_count,
            "won": len(won),
            "lost": len(lost),
        },
        "activities_by_kind": dict(sorted(by_kind.items())),
        "won_amounts": [{"currency": c, "amount": _money(a)} for c, a in sorted(won_total.items())],
        "activities": activities,
        "stage_moves": moves,
        "new_leads": leads,
        "new_deals": deals,
        "won": won[:LIST_LIMIT],
        "lost": lost[:LIST_LIMIT],
    }


def facts_of(report: WorkReport) -> dict[str, Any]:
    """What the report shows: the frozen snapshot once submitted, else the live facts."""
    if report.status != ReportStatus.DRAFT and report.facts:
        return dict(report.facts)
    return report_facts(
        author_id=report.author_id, kind=report.kind, period_start=report.period_start, time_zone=report.time_zone
    )


# --------------------------------------------------------------------------- reading reports


def with_thread(qs: QuerySet[WorkReport]) -> QuerySet[WorkReport]:
    """Reports with their author, manager and comments (with authors) in a fixed number of queries."""
    return qs.select_related("author", "manager").prefetch_related(
        Prefetch("comments", queryset=WorkReportComment.objects.select_related("author").order_by("created_at", "id"))
    )


def my_reports(user: User, *, kind: str | None = None) -> QuerySet[WorkReport]:
    """The user's own reports, newest period first (served by ``workreport_one_per_period``)."""
    qs = WorkReport.objects.filter(author=user)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.annotate(comment_count=Count("comments")).order_by("-period_start", "kind", "-id")


def report_list(
    user: User,
    *,
    kind: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    author_id: int | None = None,
    status: str | None = None,
) -> QuerySet[WorkReport]:
    """Reports ``user`` may read, filtered: ``kind``; periods overlapping
    ``[date_from, date_to]``; an author; a status. Newest period first."""
    qs = reports_visible_to(user)
    if kind:
        qs = qs.filter(kind=kind)
    if date_from is not None:
        qs = qs.filter(period_end__gte=date_from)
    if date_to is not None:
        qs = qs.filter(period_start__lte=date_to)
    if author_id is not None:
        qs = qs.filter(author_id=author_id)
    if status:
        qs = qs.filter(status=status)
    return with_thread(qs).order_by("-period_start", "-id")


# ------------------------------------------------------------------------------ team page


def is_due(kind: str, period_start: date) -> bool:
    """Whether a report is expected for the period: every week; a day only when it is one of
    the working days (``SALESFLOW_WORK_REPORT_DAYS``, ISO weekdays, Monday–Friday by default)."""
    if kind == ReportKind.WEEKLY:
        return True
    return period_start.isoweekday() in working_days()


def working_days() -> set[int]:
    return set(getattr(settings, "SALESFLOW_WORK_REPORT_DAYS", [1, 2, 3, 4, 5]))


def _zone_case(users: QuerySet[User], kind: str, period_start: date) -> tuple[Any, Any]:
    """``CASE time_zone WHEN … THEN <local period start> …`` and the same for the end: each
    user's period boundaries in their own zone, as SQL (one query for the zones present)."""
    start, end = periods.period_of(kind, period_start)
    names = sorted(set(users.order_by().values_list("time_zone", flat=True).distinct()))
    default_since, default_until = periods.bounds(start, end, zone_named(settings.TIME_ZONE))
    since_whens, until_whens = [], []
    for name in names:
        since, until = periods.bounds(start, end, zone_named(name))
        since_whens.append(When(time_zone=name, then=Value(since)))
        until_whens.append(When(time_zone=name, then=Value(until)))
    since_expr = Case(*since_whens, default=Value(default_since), output_field=DateTimeField())
    until_expr = Case(*until_whens, default=Value(default_until), output_field=DateTimeField())
    return since_expr, until_expr


def _count(qs: QuerySet[Any], owner: str) -> Coalesce:
    counted = qs.order_by().values(owner).annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def team_reports(user: User, *, kind: str, period_start: date) -> QuerySet[User]:
    """Every person ``user`` follows on the team page (``team_authors_for``) for the period,
    ordered by name, each with ``period_reports`` (their report of the period, 0 or 1, with
    its comments) and the live counts ``live_<key>`` for :data:`COUNT_KEYS` (computed in
    their own time zone) — one query for the people, one per prefetch, whatever the size."""
    start, end = periods.period_of(kind, period_start)
    people = team_authors_for(user)
    since, until = _zone_case(people, kind, start)
    people = people.annotate(_wr_since=since, _wr_until=until)
    in_period = {"__gte": OuterRef("_wr_since"), "__lt": OuterRef("_wr_until")}

    def window(column: str) -> Q:
        return Q(**{f"{column}{op}": ref for op, ref in in_period.items()})

    closed = Opportunity.objects.filter(owner=OuterRef("pk"), closed_on__gte=start, closed_on__lte=end)
    reports = with_thread(WorkReport.objects.filter(kind=kind, period_start=start))
    return (
        people.select_related("team")
        .annotate(
            live_activities=_count(
                Activity.objects.filter(window("done_at"), owner=OuterRef("pk"), done=True), "owner"
            ),
            # stage_moves_of() without its visibility test, which SQL cannot apply per person:
            # a move the person made on a deal they can no longer see counts here (never listed)
            live_stage_moves=Coalesce(
                Subquery(
                    StageChange.objects.filter(window("changed_at"), from_stage__isnull=False)
                    .filter(Q(owner=OuterRef("pk")) | Q(changed_by=OuterRef("pk")))
                    .order_by()
                    .annotate(one=Value(1))
                    .values("one")
                    .annotate(n=Count("pk"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            live_new_leads=_count(Lead.objects.filter(window("created_at"), owner=OuterRef("pk")), "owner"),
            live_new_deals=_count(Opportunity.objects.filter(window("created_at"), owner=OuterRef("pk")), "owner"),
            live_won=_count(closed.filter(outcome=Outcome.WON), "owner"),
            live_lost=_count(closed.filter(outcome=Outcome.LOST), "owner"),
        )
        .prefetch_related(Prefetch("work_reports", queryset=reports, to_attr="period_reports"))
        .order_by("display_name", "username", "pk")
    )


@dataclass
class TeamRow:
    """One person of the team page: their report (if any) and the counts to show (frozen
    ones of a submitted report, else live)."""

    person: User
    report: WorkReport | None
    counts: dict[str, int]
    # filled by the team page
    comments: list[WorkReportComment] = field(default_factory=list)
    can_comment: bool = False
    comment_form: Any = None

    @property
    def submitted(self) -> bool:
        return self.report is not None and self.report.status != ReportStatus.DRAFT

    @property
    def state(self) -> str:
        """``submitted``, ``commented``, ``draft`` or ``missing``."""
        if self.report is None:
            return "missing"
        return str(self.report.status)


def team_row(person: User) -> TeamRow:
    """A person of ``team_reports`` as a row (no query)."""
    found: list[WorkReport] = getattr(person, "period_reports", [])
    report = found[0] if found else None
    if report is not None and report.status != ReportStatus.DRAFT and report.facts.get("counts"):
        counts = {k: int(report.facts["counts"].get(k, 0)) for k in COUNT_KEYS}
    else:
        counts = {k: int(getattr(person, f"live_{k}", 0)) for k in COUNT_KEYS}
    return TeamRow(person=person, report=report, counts=counts)


def team_summary(rows: list[TeamRow]) -> dict[str, int]:
    states = Counter(row.state for row in rows)
    return {
        "people": len(rows),
        "submitted": states["submitted"] + states["commented"],
        "commented": states["commented"],
        "missing": states["missing"] + states["draft"],
    }


def latest_period(kind: str, today: date) -> date:
    """The start of the period holding ``today``."""
    return periods.period_of(kind, today)[0]
