"""Reads of the analysis layer (issue 10): the nodes a figure is about, who may see them, and
actual figures per node and period from the metrics registry.

A **node** is the company, a team (with every team below it) or a rep, keyed ``company``,
``team:<id>``, ``rep:<id>``. Who may see a node (the same rule for pages and the API):

* administrators (and the system actor): every node;
* managers: the teams they manage with their subtrees, the current members of those teams,
  and themselves;
* assistants: themselves and the reps delegated to them;
* reps and support: themselves.

Unseen → ``Http404`` (``node_for_user``). Actual figures attach to the person and to the team
*at the time* (``users.selectors.team_history``): a team's figure counts each member's
records only for the days they belonged to the team or a team below it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol

from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.metrics import FactQuery, Facts, MetricFilters, OwnerWindow, get_metric, row_count
from salesflow.core.money import money_sum_annotations, money_sum_value
from salesflow.core.periods import Period
from salesflow.core.selectors import RateBook
from salesflow.sales.choices import Outcome, StageKind
from salesflow.sales.models import Opportunity, Pipeline, Stage, StageChange
from salesflow.users.choices import Role
from salesflow.users.models import Team, User
from salesflow.users.permissions import is_system_actor, managed_team_ids, org_memoised, team_subtree_ids
from salesflow.users.selectors import TeamHistory, team_history


class AnalysisFilters(Protocol):
    """What the derived measures read of ``analytics.forms.AnalysisFilters`` (the one filter
    form's result; declared here structurally because selectors may not import forms)."""

    @property
    def period(self) -> Period: ...
    @property
    def node(self) -> Node: ...
    @property
    def filters(self) -> MetricFilters: ...


NodeKind = Literal["company", "team", "rep"]


@dataclass(frozen=True)
class Node:
    """The company, a team (and its subtree) or a rep."""

    kind: NodeKind
    id: int | None = None
    name: str = ""

    @property
    def key(self) -> str:
        return "company" if self.kind == "company" else f"{self.kind}:{self.id}"

    @property
    def label(self) -> str:
        return str(_("Whole company")) if self.kind == "company" else self.name


def parse_node_key(key: str) -> tuple[NodeKind, int | None]:
    """``company`` / ``team:<id>`` / ``rep:<id>``; ``ValueError`` for anything else."""
    key = (key or "").strip()
    if key == "company":
        return "company", None
    kind, _sep, pk = key.partition(":")
    if kind in ("team", "rep") and pk.isdigit() and len(pk) <= 12:
        return kind, int(pk)  # type: ignore[return-value]
    raise ValueError("node")


def visible_team_ids(user: User) -> set[int] | None:
    """Teams whose node ``user`` may see; ``None`` means all."""
    if is_system_actor(user) or user.is_admin:
        return None
    return managed_team_ids(user) if user.role == Role.MANAGER else set()


def visible_rep_ids(user: User) -> set[int] | None:
    """Users whose rep node ``user`` may see; ``None`` means all."""
    if is_system_actor(user) or user.is_admin:
        return None
    if user.role == Role.MANAGER:
        teams = managed_team_ids(user)
        members = org_memoised(
            ("team_members", tuple(sorted(teams))),
            lambda: frozenset(User.objects.filter(team_id__in=teams).values_list("pk", flat=True)),
        )
        return {user.pk, *members}
    if user.role == Role.ASSISTANT:
        delegated = org_memoised(
            ("delegated", user.pk), lambda: frozenset(user.delegated_reps.values_list("pk", flat=True))
        )
        return {user.pk, *delegated}
    return {user.pk}


def node_for_user(user: User, key: str) -> Node:
    """The node ``key`` when ``user`` may see it; ``Http404`` otherwise (or for a malformed key)."""
    try:
        kind, pk = parse_node_key(key)
    except ValueError:
        raise Http404 from None
    if kind == "company":
        if visible_team_ids(user) is not None:
            raise Http404
        return Node("company")
    if kind == "team":
        teams = visible_team_ids(user)
        if teams is not None and pk not in teams:
            raise Http404
        assert pk is not None
        team = Team.objects.filter(pk=pk).first()
        if team is None:
            raise Http404
        return Node("team", team.pk, team.name)
    assert pk is not None
    reps = visible_rep_ids(user)
    if reps is not None and pk not in reps:
        raise Http404
    person = User.objects.filter(pk=pk).first()
    if person is None:
        raise Http404
    return Node("rep", person.pk, str(person))


def nodes_visible_to(user: User) -> list[Node]:
    """The nodes ``user`` may pick, company first, then teams by name, then people by name."""
    nodes: list[Node] = []
    teams = visible_team_ids(user)
    if teams is None:
        nodes.append(Node("company"))
    team_qs = Team.objects.order_by("name", "pk")
    if teams is not None:
        team_qs = team_qs.filter(pk__in=teams)
    nodes.extend(Node("team", t.pk, t.name) for t in team_qs)
    reps = visible_rep_ids(user)
    people = User.objects.filter(is_active=True).exclude(role=Role.ADMIN).order_by("display_name", "username")
    if reps is not None:
        people = people.filter(pk__in=reps)
    nodes.extend(Node("rep", p.pk, str(p)) for p in people)
    return nodes


def node_windows(
    node: Node, start: date, end: date, history: TeamHistory | None = None
) -> tuple[OwnerWindow, ...] | None:
    """The owner windows of ``node`` over ``[start, end]`` (``None`` for the company).

    A team's windows: for each person and each stretch of their team history that lies in
    the team's subtree and overlaps the range, that stretch clipped to the range.
    """
    if node.kind == "company":
        return None
    if node.kind == "rep":
        assert node.id is not None
        return (OwnerWindow(node.id, start, end),)
    assert node.id is not None
    subtree = team_subtree_ids([node.id])
    history = history or team_history()
    windows: list[OwnerWindow] = []
    for user_id, intervals in history.rows.items():
        for i, (s, e, team_id) in enumerate(intervals):
            if team_id not in subtree:
                continue
            lo = date.min if i == 0 else s  # before the first interval: the first team
            hi = (e - _ONE_DAY) if e is not None else date.max
            a, b = max(lo, start), min(hi, end)
            if a <= b:
                windows.append(OwnerWindow(user_id, a, b))
    return tuple(windows)


_ONE_DAY = date(2000, 1, 2) - date(2000, 1, 1)


@dataclass
class Actual:
    """An actual figure: ``value`` (company currency or count), ``count`` of records behind it,
    and the currencies left out for want of a rate."""

    value: Decimal = Decimal(0)
    count: int = 0
    missing_rates: set[str] = field(default_factory=set)


def facts_for(metric_key: str, node: Node, start: date, end: date, filters: MetricFilters | None = None) -> Facts:
    """The metric's fact rows for ``node`` over ``[start, end]``."""
    metric = get_metric(metric_key)
    query = FactQuery(start=start, end=end, windows=node_windows(node, start, end), filters=filters or MetricFilters())
    return metric.facts(query)


def actual(metric_key: str, node: Node, period: Period, filters: MetricFilters | None = None) -> Actual:
    """The metric's actual figure for ``node`` in ``period``."""
    return actuals_by_period(metric_key, node, [period], filters)[period.key]


def actuals_by_period(
    metric_key: str, node: Node, periods: Sequence[Period], filters: MetricFilters | None = None
) -> dict[str, Actual]:
    """The metric per period (keys are period keys), from ONE facts query over their span."""
    result = {p.key: Actual() for p in periods}
    if not periods:
        return result
    facts = facts_for(metric_key, node, min(p.start for p in periods), max(p.end for p in periods), filters)
    for row in facts.rows:
        for p in periods:
            if p.start <= row.day <= p.end:
                cell = result[p.key]
                cell.value += row.value
                cell.count += row.count
    for cell in result.values():
        cell.missing_rates = set(facts.missing_rates)
    return result


def actuals_by_owner(
    metric_key: str, node: Node, period: Period, filters: MetricFilters | None = None
) -> dict[int, Actual]:
    """The metric per owner (user id) inside ``node`` for ``period`` (owners without rows absent)."""
    facts = facts_for(metric_key, node, period.start, period.end, filters)
    result: dict[int, Actual] = defaultdict(Actual)
    for row in facts.rows:
        cell = result[row.owner_id]
        cell.value += row.value
        cell.count += row.count
        cell.missing_rates = set(facts.missing_rates)
    return dict(result)


def members_of(node: Node, period: Period, history: TeamHistory | None = None) -> list[int]:
    """Ids of the people who count for ``node`` during ``period`` (a rep: themself; the
    company: every active non-admin user), sorted."""
    if node.kind == "rep":
        assert node.id is not None
        return [node.id]
    if node.kind == "company":
        return sorted(User.objects.filter(is_active=True).exclude(role=Role.ADMIN).values_list("pk", flat=True))
    windows = node_windows(node, period.start, period.end, history) or ()
    return sorted({w.owner_id for w in windows})


def user_names(ids: Iterable[int]) -> dict[int, str]:
    """Display names of the given users, one query."""
    return {u.pk: str(u) for u in User.objects.filter(pk__in=list(ids))}


# --- derived measures (issue 10 reports, scorecards, dashboards) ----------------------------
#
# Each reads through an ``AnalysisFilters`` (period, node, pipeline, product line, region,
# source) and answers from ONE grouped aggregate per figure (GROUP BY owner / stage / day /
# currency), never per-row queries. Closed deals count on their actual close date
# ``closed_on`` by their current owner within the node's owner windows (team at the time);
# a deal reopened after closing has no ``closed_on`` and counts neither as won nor lost.
# Amounts are in the company currency, closed ones at the rate of the close day, open ones
# at today's; currencies without a rate are left out and named in ``missing_rates``.
#
# Rounding (so a reader can redo the arithmetic from the figures shown): ``win_rate`` is a
# fraction 0–1 with 4 places (basis points), ``avg_won_amount`` and amounts 2 places,
# ``cycle_days`` 2 places, velocity = open_count × win_rate × avg_won_amount ÷ cycle_days
# from those rounded figures, 2 places.

RATE_PLACES = Decimal("0.0001")
CENTS = Decimal("0.01")


def _ratio(num: Decimal | int, den: Decimal | int, places: Decimal) -> Decimal | None:
    from decimal import ROUND_HALF_UP

    if not den:
        return None
    return (Decimal(num) / Decimal(den)).quantize(places, rounding=ROUND_HALF_UP)


@dataclass
class DealStats:
    """Won / lost / open figures of a node (or one owner) for a period."""

    won_count: int = 0
    lost_count: int = 0
    won_amount: Decimal = Decimal("0.00")
    win_rate: Decimal | None = None
    avg_won_amount: Decimal | None = None
    cycle_days: Decimal | None = None
    open_count: int = 0
    open_amount: Decimal = Decimal("0.00")
    velocity_per_day: Decimal | None = None
    missing_rates: set[str] = field(default_factory=set)
    # inputs of the ratios (not shown): won deals converted, won deals and their summed days
    converted_won: int = 0
    cycle_total_days: int = 0

    def finish(self) -> DealStats:
        """Compute the ratios from the counts and sums (idempotent)."""
        self.win_rate = _ratio(self.won_count, self.won_count + self.lost_count, RATE_PLACES)
        self.avg_won_amount = _ratio(self.won_amount, self.converted_won, CENTS)
        self.cycle_days = _ratio(self.cycle_total_days, self.won_count, CENTS)
        self.velocity_per_day = None
        if self.win_rate is not None and self.avg_won_amount is not None and self.cycle_days:
            self.velocity_per_day = _ratio(
                self.open_count * self.win_rate * self.avg_won_amount, self.cycle_days, CENTS
            )
        return self


def analysis_fact_query(analysis: AnalysisFilters, start: date | None = None, end: date | None = None) -> FactQuery:
    """The ``FactQuery`` of ``analysis`` (its period unless ``start``/``end`` given): the
    node's owner windows (team at the time) and the filters."""
    start = start or analysis.period.start
    end = end or analysis.period.end
    return FactQuery(start=start, end=end, windows=node_windows(analysis.node, start, end), filters=analysis.filters)


def node_owner_ids_now(node: Node) -> set[int] | None:
    """The owners whose open deals count for ``node`` now (``None``: everyone): the rep, or
    the current members of the team and the teams below it."""
    if node.kind == "company":
        return None
    assert node.id is not None
    if node.kind == "rep":
        return {node.id}
    subtree = team_subtree_ids([node.id])
    return set(User.objects.filter(team_id__in=subtree).values_list("pk", flat=True))


def open_deals_qs(analysis: AnalysisFilters) -> QuerySet[Opportunity]:
    """Open deals now (outcome *open*) of the node's current members, with the filters."""
    from salesflow.analytics.metrics import _deal_filters, _product_line_q

    query = FactQuery(start=analysis.period.start, end=analysis.period.end, filters=analysis.filters)
    qs = Opportunity.objects.filter(_deal_filters(query), _product_line_q(query), outcome=Outcome.OPEN)
    owners = node_owner_ids_now(analysis.node)
    if owners is not None:
        qs = qs.filter(owner_id__in=sorted(owners))
    return qs


def closed_deals_qs(query: FactQuery) -> QuerySet[Opportunity]:
    """Won and lost deals of ``query`` on their close day (reopened deals have none)."""
    from salesflow.analytics.metrics import _deal_filters, _product_line_q

    return Opportunity.objects.filter(
        query.owner_day_q("owner_id", "closed_on"),
        _deal_filters(query),
        _product_line_q(query),
        outcome__in=(Outcome.WON, Outcome.LOST),
        closed_on__isnull=False,
    )


def _cycle_expr() -> Any:
    """Days from creation (company time zone) to the close day, as a duration."""
    from salesflow.analytics.metrics import company_zone

    return ExpressionWrapper(
        F("closed_on") - TruncDate("created_at", tzinfo=company_zone()), output_field=DurationField()
    )


def _days(value: timedelta | int | None) -> int:
    if value is None:
        return 0
    if isinstance(value, timedelta):
        return value.days
    return int(value) // 86_400_000_000  # microseconds (a backend returning the raw number)


def deal_stats(*, analysis: AnalysisFilters) -> tuple[DealStats, dict[int, DealStats]]:
    """(total, per owner id) of won, lost and open deals: two grouped queries (closed deals
    by owner, outcome, currency and close day, with their summed cycle days; open deals by
    owner and currency) plus the rate book."""
    query = analysis_fact_query(analysis)
    closed = list(
        closed_deals_qs(query)
        .values("owner_id", "outcome", "currency", "closed_on")
        .annotate(n=row_count(), cycle=Sum(_cycle_expr()), **money_sum_annotations("amt", "amount"))
        .order_by()
    )
    opened = list(
        open_deals_qs(analysis)
        .values("owner_id", "currency")
        .annotate(n=row_count(), **money_sum_annotations("amt", "amount"))
        .order_by()
    )
    today = timezone.localdate()
    book = RateBook({r["currency"] for r in closed} | {r["currency"] for r in opened}, max(today, query.end))
    total = DealStats()
    per_owner: dict[int, DealStats] = defaultdict(DealStats)
    for r in closed:
        cells = (total, per_owner[r["owner_id"]])
        if r["outcome"] == Outcome.LOST:
            for c in cells:
                c.lost_count += r["n"]
            continue
        value = book.convert(money_sum_value(r, "amt"), r["currency"], r["closed_on"])
        for c in cells:
            c.won_count += r["n"]
            c.cycle_total_days += _days(r["cycle"])
            if value is None:
                c.missing_rates.add(r["currency"])
            else:
                c.won_amount += value
                c.converted_won += r["n"]
    for r in opened:
        value = book.convert(money_sum_value(r, "amt"), r["currency"], today)
        for c in (total, per_owner[r["owner_id"]]):
            c.open_count += r["n"]
            if value is None:
                c.missing_rates.add(r["currency"])
            else:
                c.open_amount += value
    total.finish()
    for stats in per_owner.values():
        stats.finish()
    return total, dict(per_owner)


def analysis_pipeline(analysis: AnalysisFilters) -> Pipeline | None:
    """The analysis' pipeline, else the default pipeline (the first active one if none is
    marked default)."""
    if analysis.filters.pipeline_ids:
        return Pipeline.objects.filter(pk=analysis.filters.pipeline_ids[0]).first()
    return Pipeline.objects.filter(is_active=True).order_by("-is_default", "position", "pk").first()


@dataclass
class StageStep:
    """One open stage of the funnel: deals that entered it in the period and how many of
    them later reached a later stage (or were won); ``rate`` = advanced ÷ entered (4 places)."""

    stage_id: int
    name: str
    position: int
    entered: int = 0
    advanced: int = 0
    rate: Decimal | None = None


def stage_entries_qs(analysis: AnalysisFilters, pipeline: Pipeline) -> QuerySet[StageChange]:
    """Stage entries (``StageChange``) into the open stages of ``pipeline`` during the
    period, by the deal's owner *at the time of the change* (the snapshot) within the node's
    windows; region, source and product line filter the deal."""
    from salesflow.analytics.metrics import _datetime_q

    query = analysis_fact_query(analysis)
    f = analysis.filters
    qs = StageChange.objects.filter(
        _datetime_q(query, "owner_id", "changed_at"),
        to_stage__pipeline_id=pipeline.pk,
        to_stage__kind=StageKind.OPEN,
    )
    if f.region_ids:
        qs = qs.filter(opportunity__account__region_id__in=f.region_ids)
    if f.sources:
        qs = qs.filter(opportunity__account__source__in=f.sources)
    if f.product_line_ids:
        from salesflow.catalogue.models import OpportunityLine

        lines = OpportunityLine.objects.filter(
            opportunity_id=OuterRef("opportunity_id"), product__category_id__in=f.product_line_ids
        )
        qs = qs.filter(Exists(lines))
    return qs


def _advanced_q(pipeline: Pipeline) -> Q:
    later = StageChange.objects.filter(
        opportunity_id=OuterRef("opportunity_id"),
        to_stage__pipeline_id=pipeline.pk,
        changed_at__gte=OuterRef("changed_at"),
        to_position__gt=OuterRef("to_position"),
    )
    return Q(Exists(later)) | Q(opportunity__outcome=Outcome.WON)


def stage_conversion(
    *, analysis: AnalysisFilters, per_owner: bool = True
) -> tuple[list[StageStep], dict[int, list[StageStep]]]:
    """(total, per owner id) stage-to-stage conversion of the analysis' pipeline (or the
    default one): two grouped queries over ``StageChange`` (by stage; by stage and owner),
    counting distinct deals. ``per_owner=False`` (a caller that shows only the totals, the
    dashboard's funnel chart) skips the second: the per-owner map is then empty."""
    pipeline = analysis_pipeline(analysis)
    if pipeline is None:
        return [], {}
    stages = list(Stage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN).order_by("position", "pk"))
    entries = stage_entries_qs(analysis, pipeline)
    advanced = _advanced_q(pipeline)
    aggregates = {
        "entered": Count("opportunity_id", distinct=True),
        "advanced": Count("opportunity_id", distinct=True, filter=advanced),
    }
    totals = {r["to_stage_id"]: r for r in entries.values("to_stage_id").annotate(**aggregates).order_by()}
    by_owner: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    grouped = entries.values("to_stage_id", "owner_id").annotate(**aggregates).order_by() if per_owner else []
    for r in grouped:
        if r["owner_id"] is not None:
            by_owner[r["owner_id"]][r["to_stage_id"]] = r

    def steps(found: dict[int, dict[str, Any]]) -> list[StageStep]:
        result = []
        for s in stages:
            row = found.get(s.pk, {})
            entered, adv = int(row.get("entered") or 0), int(row.get("advanced") or 0)
            result.append(StageStep(s.pk, str(s), s.position, entered, adv, _ratio(adv, entered, RATE_PLACES)))
        return result

    return steps(totals), {owner: steps(found) for owner, found in sorted(by_owner.items())}


@dataclass
class StageRow:
    """Open deals now in one stage: count, amount and probability-weighted amount (company
    currency at today's rates)."""

    stage_id: int
    name: str
    position: int
    count: int = 0
    amount: Decimal = Decimal("0.00")
    weighted: Decimal = Decimal("0.00")
    missing_rates: set[str] = field(default_factory=set)


def pipeline_by_stage(*, analysis: AnalysisFilters) -> list[StageRow]:
    """Open deals now of the node's current members in each open stage of the analysis'
    pipeline (or the default one): one query grouped by stage, currency and probability.
    ``weighted`` converts Σ amount × probability ÷ 100 of each group."""
    pipeline = analysis_pipeline(analysis)
    if pipeline is None:
        return []
    stages = list(Stage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN).order_by("position", "pk"))
    rows = list(
        open_deals_qs(analysis)
        .filter(pipeline_id=pipeline.pk)
        .values("stage_id", "currency", "probability")
        .annotate(n=row_count(), **money_sum_annotations("amt", "amount"))
        .order_by()
    )
    today = timezone.localdate()
    book = RateBook({r["currency"] for r in rows}, today)
    result = {s.pk: StageRow(s.pk, str(s), s.position) for s in stages}
    for r in rows:
        cell = result.get(r["stage_id"])
        if cell is None:  # an open deal in a closed stage: data edited elsewhere
            continue
        amount = money_sum_value(r, "amt")
        value = book.convert(amount, r["currency"], today)
        weighted = book.convert(amount * Decimal(r["probability"] or 0) / 100, r["currency"], today)
        cell.count += r["n"]
        if value is None or weighted is None:
            cell.missing_rates.add(r["currency"])
            continue
        cell.amount += value
        cell.weighted += weighted
    return list(result.values())


@dataclass
class MonthRow:
    """Won and lost deals closed in one month (``key`` is the period key ``2026-03``)."""

    key: str
    won_count: int = 0
    won_amount: Decimal = Decimal("0.00")
    lost_count: int = 0
    win_rate: Decimal | None = None
    missing_rates: set[str] = field(default_factory=set)


def won_lost_by_month(*, analysis: AnalysisFilters, months: int = 12) -> list[MonthRow]:
    """The ``months`` calendar months ending with the month of the analysis period's last
    day, oldest first: one query grouped by outcome, currency and close day."""
    from salesflow.core.periods import month_period, months_between

    months = max(1, min(int(months), 120))
    end = analysis.period.end
    y, m = end.year, end.month - (months - 1)
    while m < 1:
        y, m = y - 1, m + 12
    start = date(y, m, 1)
    periods = months_between(start, month_period(end.year, end.month).end)
    query = analysis_fact_query(analysis, periods[0].start, periods[-1].end)
    rows = list(
        closed_deals_qs(query)
        .values("outcome", "currency", "closed_on")
        .annotate(n=row_count(), **money_sum_annotations("amt", "amount"))
        .order_by()
    )
    book = RateBook({r["currency"] for r in rows}, query.end)
    result = {p.key: MonthRow(p.key) for p in periods}
    for r in rows:
        day: date = r["closed_on"]
        cell = result[f"{day.year:04d}-{day.month:02d}"]
        if r["outcome"] == Outcome.LOST:
            cell.lost_count += r["n"]
            continue
        cell.won_count += r["n"]
        value = book.convert(money_sum_value(r, "amt"), r["currency"], day)
        if value is None:
            cell.missing_rates.add(r["currency"])
        else:
            cell.won_amount += value
    for cell in result.values():
        cell.win_rate = _ratio(cell.won_count, cell.won_count + cell.lost_count, RATE_PLACES)
    return list(result.values())
