"""Reads of ``salesflow.scorecards`` (issue 10): the KPI scorecard per rep beside the team's
median, funnel math (漏斗倒推) and appraisals (考核).

**Scorecard figures** for a node (team or company: one row per member, people at the time
through ``analytics.selectors.members_of``; a rep: that rep) and a period, all through the
metrics registry where it has the figure, so the scorecard agrees with every report:

* *won revenue* and *won deals* — ``won_revenue`` (closed deals by ``closed_on``, dated rates);
  *target* and *attainment* from ``targets.selectors.attainments`` when that app provides it;
* *activities*, *visits* — the registry metrics of the same names;
* *win rate* — won ÷ (won + lost) deals closed in the period;
* *average deal size* — won revenue ÷ won deals, rounded half-up to the cent;
* *cycle time* — mean whole days from creation (company time zone) to ``closed_on`` of the
  won deals (a deal closed before it was created counts 0 days);
* *stage → won* per open stage — of the deals closed in the period that passed through the
  stage (any ``StageChange`` into it, creation included), the share won;
* *stalled now* — the rep's open deals stalled today under ``sales.selectors.stalled_q``.

**Medians**: over the reps of the node (a rep's page: the reps of the rep's current team)
for whom the figure is defined (a rate with no sample, an average with no won deal are left
out); with an even number of values the median is the mean of the two middle ones. Computed
exactly (``Decimal`` / ``Fraction``), rounded only for display.

**Funnel math** for the node and each member: the remaining gap (target − actual from the
targets app, or a gap the user types for the node) ÷ the trailing average won deal = won deals
needed; ÷ the stage's trailing stage → won rate = deals that must enter the stage; ÷ (first
stage → won rate × lead → deal rate) = new leads. Each is rounded *up* (ceiling of the exact
fraction). Trailing = the ``TRAILING_DAYS`` days ending today; lead → deal rate = converted ÷
(converted + disqualified) among leads created then. A rate or average over fewer than
``MIN_SAMPLE`` cases is reported as "too few" instead of a number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, TypeVar

from django.db.models import F, Func, IntegerField, Min, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from salesflow.analytics.forms import AnalysisFilters
from salesflow.analytics.metrics import _datetime_q, company_zone, local_day, won_deals_qs
from salesflow.analytics.selectors import (
    DealStats,
    Node,
    StageStep,
    deal_stats,
    members_of,
    node_windows,
    visible_rep_ids,
)
from salesflow.core.metrics import FactQuery, Facts, MetricFilters, get_metric, row_count
from salesflow.core.periods import Period, parse_period
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.sales.choices import Outcome, StageKind
from salesflow.sales.models import Opportunity, Stage
from salesflow.sales.selectors import stalled_q
from salesflow.scorecards.facts import stage_passes, stored_stage_conversion
from salesflow.scorecards.models import Appraisal
from salesflow.targets.selectors import Attainment, attainments
from salesflow.users.choices import Role
from salesflow.users.models import Team, User
from salesflow.users.permissions import is_system_actor, managed_team_ids

#: a rate or an average over fewer cases is "too few to tell", not a number
MIN_SAMPLE = 5
#: the trailing window of funnel math (days ending today)
TRAILING_DAYS = 365
CENT = Decimal("0.01")

N = TypeVar("N", Decimal, Fraction)


# --- exact helpers ---------------------------------------------------------------------------


def median(values: Iterable[N]) -> N | None:
    """The median of ``values`` (``None`` when empty); even count: the mean of the two middle ones."""
    ordered = sorted(values)
    if not ordered:
        return None
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def ceil_fraction(value: Fraction) -> int:
    """The smallest integer ≥ ``value`` (exact)."""
    return -((-value.numerator) // value.denominator)


def fraction_to_decimal(value: Fraction | None, places: int = 4) -> Decimal | None:
    """``value`` rounded half-up to ``places`` decimals (for display and the API)."""
    if value is None:
        return None
    quantum = Decimal(1).scaleb(-places)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(quantum, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Rate:
    """``numerator`` of ``denominator`` cases; ``value`` is ``None`` without a case."""

    numerator: int = 0
    denominator: int = 0

    @property
    def value(self) -> Fraction | None:
        return Fraction(self.numerator, self.denominator) if self.denominator else None

    @property
    def enough(self) -> bool:
        return self.denominator >= MIN_SAMPLE

    @property
    def percent(self) -> Decimal | None:
        """The rate in per cent, one decimal (display)."""
        v = self.value
        return fraction_to_decimal(v * 100, 1) if v is not None else None

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.numerator + other.numerator, self.denominator + other.denominator)


# --- the rows the figures come from ----------------------------------------------------------


@dataclass
class DealFigures:
    """Closed-deal figures of one owner (or a whole node) over a date range."""

    won_amount: Decimal = Decimal(0)
    won_count: int = 0
    lost_count: int = 0
    cycle_days_total: int = 0
    cycle_count: int = 0
    stage_won: dict[int, int] = field(default_factory=dict)  # stage id → won deals that passed it
    stage_closed: dict[int, int] = field(default_factory=dict)  # stage id → closed deals that passed it
    leads_converted: int = 0
    leads_decided: int = 0

    @property
    def win_rate(self) -> Rate:
        return Rate(self.won_count, self.won_count + self.lost_count)

    @property
    def avg_won_exact(self) -> Fraction | None:
        return Fraction(self.won_amount) / self.won_count if self.won_count else None

    @property
    def avg_won(self) -> Decimal | None:
        return (self.won_amount / self.won_count).quantize(CENT, ROUND_HALF_UP) if self.won_count else None

    @property
    def cycle_days(self) -> Fraction | None:
        return Fraction(self.cycle_days_total, self.cycle_count) if self.cycle_count else None

    def stage_rate(self, stage_id: int) -> Rate:
        return Rate(self.stage_won.get(stage_id, 0), self.stage_closed.get(stage_id, 0))

    @property
    def lead_rate(self) -> Rate:
        return Rate(self.leads_converted, self.leads_decided)

    def add(self, other: DealFigures) -> None:
        self.won_amount += other.won_amount
        self.won_count += other.won_count
        self.lost_count += other.lost_count
        self.cycle_days_total += other.cycle_days_total
        self.cycle_count += other.cycle_count
        for sid, n in other.stage_won.items():
            self.stage_won[sid] = self.stage_won.get(sid, 0) + n
        for sid, n in other.stage_closed.items():
            self.stage_closed[sid] = self.stage_closed.get(sid, 0) + n
        self.leads_converted += other.leads_converted
        self.leads_decided += other.leads_decided


def _query(node: Node, start: date, end: date, filters: MetricFilters) -> FactQuery:
    return FactQuery(start=start, end=end, windows=node_windows(node, start, end), filters=filters)


def deal_figures(
    node: Node, start: date, end: date, filters: MetricFilters | None = None, *, leads: bool = False
) -> tuple[dict[int, DealFigures], set[str]]:
    """Closed-deal figures per owner inside ``node`` over ``[start, end]`` (and the currencies
    left out for want of a rate). Queries: won revenue facts (registry), lost deals facts, the
    stage passes (one aggregate), the won deals' cycle (one query of two dates per won deal),
    and with ``leads`` the lead outcomes (one aggregate)."""
    filters = filters or MetricFilters()
    per: dict[int, DealFigures] = defaultdict(DealFigures)
    # the owner windows once for every figure; rows are only summed per owner here, so the
    # metrics need not keep their days (``FactQuery.per_day``: a year of the company's won
    # deals is one row per owner, not 70,000 owner-days at bench scale 1.0)
    query = replace(_query(node, start, end, filters), per_day=False)
    won = get_metric("won_revenue").facts(query)
    for row in won.rows:
        per[row.owner_id].won_amount += row.value
        per[row.owner_id].won_count += row.count
    for row in get_metric("lost_deals").facts(query).rows:
        per[row.owner_id].lost_count += row.count
    won_qs = won_deals_qs(query)
    # distinct deals per (owner, stage entered, outcome) among the deals closed in the range
    # (won or lost): the stored months of ``scorecards.facts`` whose fingerprint still
    # matches, the rest (edge months, changed groups, any filter) live in one aggregate
    for owner_id, sid, outcome, n in stage_passes(query):
        cell = per[owner_id]
        cell.stage_closed[sid] = cell.stage_closed.get(sid, 0) + n
        if outcome == Outcome.WON:
            cell.stage_won[sid] = cell.stage_won.get(sid, 0) + n
    # cycle time per owner in SQL (a year's won deals of the company read row by row, with
    # their creation times converted in Python, took 0.5 s at bench scale 1.0): whole days
    # from the creation day (company zone) to the close day, a deal closed before it was
    # created counting 0 — only the positive differences are summed
    # (the creation days span from the first deal ever created: ``local_day`` shifts in SQL
    # only when the zone's offset is the same over all of them; MIN reads opp_created_idx)
    first_created = Opportunity.objects.aggregate(first=Min("created_at"))["first"]
    since = min(first_created.astimezone(company_zone()).date(), start) if first_created is not None else start
    cycles = (
        won_qs.annotate(created_day=local_day("created_at", since, end))
        .values_list("owner_id")
        .annotate(
            n=row_count(),
            days=Sum(DaysBetween("closed_on", "created_day"), filter=Q(closed_on__gt=F("created_day"))),
        )
        .order_by()
    )
    for owner_id, n, days in cycles:
        cell = per[owner_id]
        cell.cycle_days_total += int(days or 0)
        cell.cycle_count += n
    if leads:
        for owner_id, status, n in (
            Lead.objects.filter(_lead_created_q(query), status__in=[LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED])
            .values_list("owner_id", "status")
            .annotate(n=row_count())
            .order_by()
        ):
            if owner_id is None:
                continue
            per[owner_id].leads_decided += n
            if status == LeadStatus.CONVERTED:
                per[owner_id].leads_converted += n
    return dict(per), set(won.missing_rates)


class DaysBetween(Func):
    """Whole days from the date ``earlier`` to the date ``later`` (both date expressions)."""

    output_field = IntegerField()
    template = "(%(expressions)s)"  # PostgreSQL: date - date is an integer
    arg_joiner = " - "

    def __init__(self, later: str, earlier: str) -> None:
        super().__init__(F(later), F(earlier))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )


def _lead_created_q(query: FactQuery) -> Q:
    """Leads created in the query's days by their owner inside the owner windows: one
    ``owner IN (…) AND created_at in range`` term per distinct date range (``_datetime_q``;
    index ``lead_owner_created_idx``, or ``lead_status_created_idx`` for the company, both
    covering the status)."""
    return _datetime_q(query, "owner_id", "created_at")


def open_stages(filters: MetricFilters) -> list[Stage]:
    """The open stages funnel math uses: of the filtered pipeline, else of every active
    pipeline, the default pipeline's first (the funnel keeps the first pipeline's)."""
    qs = Stage.objects.filter(kind=StageKind.OPEN, is_active=True, pipeline__is_active=True)
    if filters.pipeline_ids:
        qs = Stage.objects.filter(kind=StageKind.OPEN, pipeline_id__in=filters.pipeline_ids)
    # the default pipeline first (as ``analytics.selectors.analysis_pipeline``), then by position
    order = ("-pipeline__is_default", "pipeline__position", "pipeline_id", "position")
    return list(qs.select_related("pipeline").order_by(*order))


def stalled_counts(owner_ids: Sequence[int], filters: MetricFilters) -> dict[int, int]:
    """Open deals stalled now per owner (``sales.selectors.stalled_q``; pipeline filter honoured)."""
    qs: QuerySet[Opportunity] = Opportunity.objects.filter(stalled_q(), owner_id__in=list(owner_ids))
    if filters.pipeline_ids:
        qs = qs.filter(pipeline_id__in=filters.pipeline_ids)
    return {o: n for o, n in qs.values_list("owner_id").annotate(n=row_count()).order_by()}


# --- targets --------------------------------------------------------------------------------


def won_attainments(
    nodes: Sequence[Node], period: Period, today: date, filters: MetricFilters | None = None
) -> dict[str, Attainment]:
    """Won-revenue attainment per node key (``targets.selectors.attainments``: constant
    queries for any number of nodes); ``target`` is ``None`` where the plan has none."""
    if not nodes:
        return {}
    found = attainments(nodes=list(nodes), metric_key="won_revenue", period=period, today=today, filters=filters)
    return {a.node_key: a for a in found}


# --- scorecard -------------------------------------------------------------------------------


@dataclass
class RepCard:
    """One rep's scorecard figures: ``stats`` and ``steps`` are the reports' own
    (``analytics.selectors.deal_stats`` / ``stage_conversion``), ``attainment`` the targets'."""

    user_id: int
    name: str
    stats: DealStats
    steps: dict[int, StageStep] = field(default_factory=dict)
    activities: int = 0
    visits: int = 0
    stalled: int = 0
    target: Decimal | None = None
    attainment: Decimal | None = None


@dataclass
class Medians:
    won_amount: Decimal | None = None
    won_count: Decimal | None = None
    attainment: Decimal | None = None
    activities: Decimal | None = None
    visits: Decimal | None = None
    win_rate: Decimal | None = None
    avg_won: Decimal | None = None
    cycle_days: Decimal | None = None
    stalled: Decimal | None = None
    stage_rates: dict[int, Decimal | None] = field(default_factory=dict)


@dataclass
class Scorecard:
    node: Node
    period: Period
    rows: list[RepCard]
    medians: Medians
    stages: list[StageStep]  # the pipeline's open stages (the node's totals)
    median_of: Node
    missing_rates: set[str] = field(default_factory=set)


#: who gets a scorecard row: people who sell (assistants and support do not)
SELLING_ROLES = (Role.REP, Role.MANAGER)


def sellers_of(node: Node, period: Period) -> dict[int, str]:
    """The people of ``node`` in ``period`` who sell (a rep node: that person whatever their
    role) → display name; one query after ``members_of``."""
    ids = members_of(node, period)
    qs = User.objects.filter(pk__in=ids)
    if node.kind != "rep":
        qs = qs.filter(role__in=SELLING_ROLES)
    return {u.pk: str(u) for u in qs}


def _counts(facts: Facts) -> dict[int, int]:
    """Records per owner of a count metric's facts."""
    out: dict[int, int] = defaultdict(int)
    for row in facts.rows:
        out[row.owner_id] += row.count
    return dict(out)


def _cards(
    node: Node, period: Period, filters: MetricFilters, today: date
) -> tuple[list[RepCard], list[StageStep], set[str]]:
    names = sellers_of(node, period)
    reps = sorted(names)
    analysis = AnalysisFilters(period=period, node=node, filters=filters, params={})
    total, stats = deal_stats(analysis=analysis)
    steps_total, steps = stored_stage_conversion(analysis=analysis)
    # activities and visits are only summed per owner: one row per owner, not per day
    query = replace(_query(node, period.start, period.end, filters), per_day=False)
    activities = _counts(get_metric("activities").facts(query))
    visits = _counts(get_metric("visits").facts(query))
    stalled = stalled_counts(reps, filters)
    targets = won_attainments([Node("rep", r, names[r]) for r in reps], period, today, filters)
    cards = []
    for r in reps:
        att = targets.get(f"rep:{r}")
        cards.append(
            RepCard(
                user_id=r,
                name=names[r],
                stats=stats.get(r) or DealStats().finish(),
                steps={step.stage_id: step for step in steps.get(r, [])},
                activities=activities.get(r, 0),
                visits=visits.get(r, 0),
                stalled=stalled.get(r, 0),
                target=att.target if att is not None else None,
                attainment=att.ratio if att is not None else None,
            )
        )
    cards.sort(key=lambda c: (c.name, c.user_id))
    return cards, steps_total, set(total.missing_rates)


def medians_of(cards: Sequence[RepCard], stages: Sequence[StageStep]) -> Medians:
    def med(values: Iterable[int | Decimal | None]) -> Decimal | None:
        return median(Decimal(v) for v in values if v is not None)

    return Medians(
        won_amount=med(c.stats.won_amount for c in cards),
        won_count=med(c.stats.won_count for c in cards),
        attainment=med(c.attainment for c in cards),
        activities=med(c.activities for c in cards),
        visits=med(c.visits for c in cards),
        win_rate=med(c.stats.win_rate for c in cards),
        avg_won=med(c.stats.avg_won_amount for c in cards),
        cycle_days=med(c.stats.cycle_days for c in cards),
        stalled=med(c.stalled for c in cards),
        stage_rates={
            s.stage_id: med(step.rate for c in cards if (step := c.steps.get(s.stage_id)) is not None) for s in stages
        },
    )


def median_group(node: Node) -> Node:
    """Whose median a scorecard of ``node`` is shown beside: a rep's current team (the
    company when they have none); a team or the company: itself."""
    if node.kind != "rep" or node.id is None:
        return node
    team = Team.objects.filter(members__pk=node.id).only("pk", "name").first()
    return Node("team", team.pk, team.name) if team is not None else Node("company")


def scorecard(
    node: Node, period: Period, filters: MetricFilters | None = None, *, today: date | None = None
) -> Scorecard:
    """The scorecard of ``node`` in ``period``: a row per member (one for a rep) and the
    medians over ``median_group(node)``'s sellers. Constant queries whatever the team size."""
    filters = filters or MetricFilters()
    today = today or timezone.localdate()
    group = median_group(node)
    group_cards, stages, missing = _cards(group, period, filters, today)
    if node.kind == "rep":
        rows = [c for c in group_cards if c.user_id == node.id]
        if not rows:  # the rep does not count for their team in the period (moved in later)
            rows, _steps, missing = _cards(node, period, filters, today)
    else:
        rows = group_cards
    return Scorecard(node, period, rows, medians_of(group_cards, stages), stages, group, missing)


# --- funnel math -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StageNeed:
    stage: Stage
    rate: Rate
    need: int | None  # deals that must enter the stage; None when the sample is too small


@dataclass
class FunnelLine:
    """The funnel math of one node (a rep or the team)."""

    node_key: str
    name: str
    remaining: Decimal | None  # None: no target and no gap typed
    gap_source: str  # "target", "typed" or "none"
    figures: DealFigures
    stages: list[StageNeed]
    deals_needed: int | None = None
    leads_needed: int | None = None
    lead_stage: Stage | None = None

    @property
    def won_sample_enough(self) -> bool:
        return self.figures.won_count >= MIN_SAMPLE

    @property
    def cycle_days(self) -> Decimal | None:
        return fraction_to_decimal(self.figures.cycle_days, 1)


@dataclass
class Funnel:
    node: Node
    period: Period
    trailing_start: date
    trailing_end: date
    team: FunnelLine
    reps: list[FunnelLine]
    missing_rates: set[str] = field(default_factory=set)


def funnel_line(
    node_key: str,
    name: str,
    remaining: Decimal | None,
    gap_source: str,
    figures: DealFigures,
    stages: Sequence[Stage],
) -> FunnelLine:
    """The math for one node from its trailing figures (exact fractions, ceilings at the end)."""
    line = FunnelLine(node_key, name, remaining, gap_source, figures, [])
    avg = figures.avg_won_exact
    needed: Fraction | None = None
    if remaining is not None and remaining <= 0:
        needed = Fraction(0)
    elif remaining is not None and avg is not None and figures.won_count >= MIN_SAMPLE and avg > 0:
        needed = Fraction(remaining) / avg
    if needed is not None:
        line.deals_needed = ceil_fraction(needed)
    for stage in stages:
        rate = figures.stage_rate(stage.pk)
        value = rate.value
        need: int | None = None
        if needed is not None and needed == 0:
            need = 0
        elif needed is not None and rate.enough and value:
            need = ceil_fraction(needed / value)
        line.stages.append(StageNeed(stage, rate, need))
    if stages:
        first = stages[0]
        line.lead_stage = first
        first_rate, lead_rate = figures.stage_rate(first.pk), figures.lead_rate
        if needed is not None and needed == 0:
            line.leads_needed = 0
        elif needed is not None and first_rate.enough and lead_rate.enough and first_rate.value and lead_rate.value:
            line.leads_needed = ceil_fraction(needed / (first_rate.value * lead_rate.value))
    return line


def trailing_range(today: date) -> tuple[date, date]:
    return today - timedelta(days=TRAILING_DAYS - 1), today


def funnel(
    node: Node,
    period: Period,
    filters: MetricFilters | None = None,
    *,
    gap: Decimal | None = None,
    today: date | None = None,
) -> Funnel:
    """Funnel math for ``node`` (and, for a team or the company, each member) toward the won
    revenue still missing in ``period``. The node's gap: target − actual when the targets app
    has a target, else ``gap`` as typed; a member's: their own target − actual."""
    filters = filters or MetricFilters()
    today = today or timezone.localdate()
    start, end = trailing_range(today)
    stages = open_stages(filters)
    if not filters.pipeline_ids and stages:
        # without a pipeline filter the math follows the first pipeline's stages
        stages = [s for s in stages if s.pipeline_id == stages[0].pipeline_id]
    per, missing = deal_figures(node, start, end, filters, leads=True)
    names = sellers_of(node, period) if node.kind != "rep" else {}
    reps = sorted(names)
    rep_nodes = [Node("rep", r, names.get(r, "")) for r in reps]
    targets = won_attainments([node, *rep_nodes], period, today, filters)

    def gap_of(key: str, typed: Decimal | None) -> tuple[Decimal | None, str]:
        att = targets.get(key)
        if att is not None and att.target is not None:
            return att.target - att.actual, "target"
        if typed is not None:
            return typed, "typed"
        return None, "none"

    total = DealFigures()
    for figures in per.values():
        total.add(figures)
    remaining, source = gap_of(node.key, gap)
    team_line = funnel_line(node.key, node.label, remaining, source, total, stages)
    lines = []
    for r in sorted(reps, key=lambda r: (names.get(r, ""), r)):
        rem, src = gap_of(f"rep:{r}", None)
        lines.append(funnel_line(f"rep:{r}", names.get(r, ""), rem, src, per.get(r, DealFigures()), stages))
    return Funnel(node, period, start, end, team_line, lines, missing)


# --- appraisals ------------------------------------------------------------------------------

#: appraisals are per month or per quarter
APPRAISAL_KINDS = ("month", "quarter")


def appraisal_period(key: str) -> Period:
    """The period ``key`` when it is a month or a quarter; ``ValueError`` otherwise."""
    period = parse_period(key)
    if period.kind not in APPRAISAL_KINDS:
        raise ValueError("period")
    return period


def can_read_appraisals_of(user: User, rep: User) -> bool:
    """The rep themself, their managers (managed teams, subtree) and administrators."""
    if is_system_actor(user) or user.is_admin or user.pk == rep.pk:
        return True
    return user.role == Role.MANAGER and rep.team_id is not None and rep.team_id in managed_team_ids(user)


def can_write_appraisal_of(user: User, rep: User) -> bool:
    """Only the rep's manager (a manager of the rep's team or a team above it), never about themself."""
    return (
        user.is_active
        and user.role == Role.MANAGER
        and user.pk != rep.pk
        and rep.team_id is not None
        and rep.team_id in managed_team_ids(user)
    )


def appraisal_rep_for(user: User, rep_id: int) -> User:
    """The rep ``rep_id`` when ``user`` may read their appraisals; ``Http404`` otherwise
    (unseen people and people whose appraisals ``user`` may not read look the same)."""
    reps = visible_rep_ids(user)
    if reps is not None and rep_id not in reps:
        raise Http404
    rep = User.objects.filter(pk=rep_id).exclude(role=Role.ADMIN).first()
    if rep is None or not can_read_appraisals_of(user, rep):
        raise Http404
    return rep


def appraisals_visible_to(user: User) -> QuerySet[Appraisal]:
    """Appraisals ``user`` may read (rep, author loaded)."""
    qs = Appraisal.objects.select_related("rep", "author")
    if is_system_actor(user) or user.is_admin:
        return qs
    if user.role == Role.MANAGER:
        return qs.filter(Q(rep_id=user.pk) | Q(rep__team_id__in=managed_team_ids(user)))
    return qs.filter(rep_id=user.pk)


def appraisal_for_user(user: User, appraisal_id: int) -> Appraisal:
    found = appraisals_visible_to(user).filter(pk=appraisal_id).first()
    if found is None:
        raise Http404
    return found


def appraisals_for(user: User, *, period: Period | None = None, rep_id: int | None = None) -> QuerySet[Appraisal]:
    qs = appraisals_visible_to(user)
    if period is not None:
        qs = qs.filter(period_key=period.key)
    if rep_id is not None:
        qs = qs.filter(rep_id=rep_id)
    return qs.order_by("-period_start", "rep__display_name", "rep_id")
