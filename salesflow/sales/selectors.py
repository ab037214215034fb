"""Reads for opportunities: the list, the pipeline board and the detail page.

Every read starts from ``opportunities_visible_to(user)`` so lists, cards, column totals
and counts show exactly what the user may see, and loads its relations up front
(``select_related`` / ``prefetch_related``) so templates and API schemas never query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, getcontext
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import OrderBy
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from salesflow.core.models import ExchangeRate
from salesflow.core.money import company_currency, money_sum_annotations, money_sum_value
from salesflow.core.selectors import EXACT_PRECISION, apply_rate, rates_on
from salesflow.parties.models import Account
from salesflow.parties.permissions import accounts_writable_by
from salesflow.sales.choices import Outcome, StageKind, StallBasis
from salesflow.sales.models import (
    Competitor,
    LostReason,
    Opportunity,
    OpportunityContact,
    OpportunityFieldChange,
    Pipeline,
    Stage,
    StageChange,
    StageDwellStat,
    StuckBucket,
    TeamDefaultPipeline,
    TeamPipeline,
    stage_rank_of,
)
from salesflow.sales.permissions import opportunities_visible_to, opportunities_writable_by
from salesflow.sales.stuck_services import month_of, month_start, next_month
from salesflow.search.selectors import filter_by_search
from salesflow.tags.selectors import filter_by_tag
from salesflow.users.choices import Role
from salesflow.users.models import Team, User
from salesflow.users.permissions import is_system_actor, managed_team_ids, visible_owner_ids

# Public sort keys → ascending ``order_by``. Each is served by an index on Opportunity
# (opp_name_idx, opp_amount_idx, opp_eff_close_idx, opp_created_idx, opp_stage_rank_idx). "close"
# is ``close_date``: the actual close date of won and lost deals, the expected one else.
# "stage" follows the configured order (pipeline position, then stage position within
# the pipeline): stage ids say nothing once stages are added or reordered. The order is
# kept denormalised in ``Opportunity.stage_rank`` (see ``refresh_stage_ranks``), served by
# opp_stage_rank_idx.
OPPORTUNITY_SORTS: dict[str, Sequence[str]] = {
    "name": ("name", "id"),
    "amount": ("amount", "id"),
    "close": ("close_date", "id"),
    "created": ("created_at", "id"),
    "stage": ("stage_rank", "id"),
}
NULLABLE_SORT_FIELDS = {"close_date"}
DEFAULT_SORT = "-created"
# Cards shown per column (soonest close date first); the rest are one click away in the
# list ("+N more"). Rendering cards is most of the board's server time, so keep this small.
BOARD_CARD_LIMIT = 20


def order_by_for(sort: str | None) -> tuple[str, list[str | OrderBy]]:
    """``(key, order_by fields)`` for a public sort key such as ``-amount``; unknown keys
    fall back to ``DEFAULT_SORT`` so no request can sort by an unindexed column."""
    key = sort or DEFAULT_SORT
    desc = key.startswith("-")
    base = key.lstrip("-")
    if base not in OPPORTUNITY_SORTS:
        key, desc, base = DEFAULT_SORT, True, DEFAULT_SORT.lstrip("-")
    fields: list[str | OrderBy] = []
    for name in OPPORTUNITY_SORTS[base]:
        if name in NULLABLE_SORT_FIELDS:
            # PostgreSQL's own index order (NULLS LAST ascending, NULLS FIRST descending),
            # spelled out so SQLite sorts the same way.
            fields.append(F(name).desc(nulls_first=True) if desc else F(name).asc(nulls_last=True))
        else:
            fields.append(("-" + name) if desc else name)
    return key, fields


def _search(qs: QuerySet[Opportunity], q: str | None) -> QuerySet[Opportunity]:
    qs = filter_by_search(qs, "opportunity", q)  # name or account name, through the search index
    return qs


def _ref_filter(prefix: str, ref: int | str) -> Q:
    """Match a related row by id (``12`` / ``"12"``) or by code (``"demo"``)."""
    text = str(ref).strip()
    if text.isdigit():
        return Q(**{f"{prefix}_id": int(text)})
    return Q(**{f"{prefix}__code": text})


def opportunity_list(
    user: User,
    *,
    q: str | None = None,
    stage: int | str | None = None,
    outcome: str | None = None,
    owner: int | None = None,
    account: int | None = None,
    pipeline: int | str | None = None,
    close_from: date | None = None,
    close_to: date | None = None,
    overdue: bool = False,
    sort: str | None = None,
    today: date | None = None,
    stalled: bool = False,
) -> QuerySet[Opportunity]:
    """Visible opportunities filtered and sorted (``sort``: ``name``, ``amount``,
    ``close``, ``created`` or ``stage``, ``-`` prefix for descending). ``stage`` and
    ``pipeline`` accept an id or a code. Account, owner, pipeline and stage are loaded.

    ``close_from`` / ``close_to`` (inclusive) and the ``close`` sort use ``close_date``:
    the actual close date of won and lost deals, the expected one of the others, so
    ``outcome="won"`` with this month's dates answers "what did we win this month".
    ``overdue`` keeps open deals whose expected close date is before ``today`` (default:
    ``timezone.localdate()``, the reader's today). ``stalled`` keeps open deals stalled now
    under the stall rule (:func:`stalled_q`, two small queries)."""
    qs = _search(opportunities_visible_to(user), q)
    if stage is not None and stage != "":
        qs = qs.filter(_ref_filter("stage", stage))
    if outcome:
        qs = qs.filter(outcome=outcome)
    if owner:
        qs = qs.filter(owner_id=owner)
    if account:
        qs = qs.filter(account_id=account)
    if pipeline is not None and pipeline != "":
        qs = qs.filter(_ref_filter("pipeline", pipeline))
    # Won or lost only: the same dates as closed_on, served by (outcome, closed_on).
    close_field = "closed_on" if outcome in (Outcome.WON, Outcome.LOST) else "close_date"
    if close_from:
        qs = qs.filter(**{f"{close_field}__gte": close_from})
    if close_to:
        qs = qs.filter(**{f"{close_field}__lte": close_to})
    if overdue:
        qs = qs.filter(_past_close_q(today))
    if stalled:
        qs = qs.filter(stalled_q())
    _key, fields = order_by_for(sort)
    # Account, owner, pipeline and stage come from prefetches (four queries by primary
    # key for one page), not inner joins: joined, SQLite's planner loops over the few
    # stages or users first and then sorts every visible deal, instead of walking the
    # sort's index and stopping after one page. (Outer joins cannot be reordered.)
    return (
        qs.select_related("lost_reason", "lost_to")
        .prefetch_related("account", "owner", "pipeline", "stage")
        .order_by(*fields)
    )


def _past_close_q(today: date | None = None) -> Q:
    return Q(outcome=Outcome.OPEN, expected_close_date__lt=today or timezone.localdate())


def opportunities_past_close(user: User, *, today: date | None = None) -> QuerySet[Opportunity]:
    """Open deals ``user`` may see whose expected close date has passed (before ``today``,
    default the reader's ``timezone.localdate()``), most overdue first, with account and
    owner loaded. For "My day" and the overdue filter; ``Opportunity.is_past_close`` is
    the same rule for one loaded row."""
    return (
        opportunities_visible_to(user)
        .filter(_past_close_q(today))
        .select_related("account", "owner")
        .order_by("expected_close_date", "id")
    )


def with_relations(qs: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
    """Add the decision-maker map and competitors (two extra queries for any number of rows)."""
    return qs.prefetch_related(
        Prefetch("contact_roles", queryset=OpportunityContact.objects.select_related("contact").order_by("id")),
        Prefetch("competitors", queryset=Competitor.objects.order_by("name")),
    )


# ------------------------------------------------------------------------ stall rule
#
# A deal is stalled when its time in the current stage passes the stage's threshold
# (``Stage.rotting_days``) OR — once the owner's team has at least ``STALL_MIN_EXITS`` exits
# from that stage — the team's own 80th percentile of time in that stage
# (``StageDwellStat``, recomputed daily). Read literally: whichever of the two is passed
# first, i.e. the threshold is the smaller of the two when both exist (a tie counts as the
# stage's). The percentile is rounded up to whole days. A stage without a threshold and a
# team with fewer exits never stalls.

#: Exits from a stage a team needs before its own 80th percentile applies.
STALL_MIN_EXITS = 30
#: History the daily statistic looks at (exits changed within this many days).
STALL_STAT_WINDOW_DAYS = 365
SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class StallStatus:
    """One deal's stall state. ``threshold_days`` / ``basis`` are the threshold that applies
    (``None`` when none does); ``sample_size`` is the number of exits behind the team's
    percentile (also when the stage's threshold is the smaller one)."""

    stalled: bool
    days_in_stage: int
    threshold_days: int | None = None
    basis: str | None = None
    stage_days: int | None = None
    team_p80_days: int | None = None
    sample_size: int | None = None

    @property
    def days_stalled(self) -> int:
        """Whole days past the threshold (0 on the day it is passed; negative before)."""
        if self.threshold_days is None:
            return -1
        return self.days_in_stage - self.threshold_days

    @property
    def by_team(self) -> bool:
        return self.basis == StallBasis.TEAM_P80


@dataclass(frozen=True)
class StallRules:
    """The team percentiles that apply (``STALL_MIN_EXITS`` or more exits), by
    ``(team id or None, stage id)`` → ``(p80 in whole days, sample size)``. Built by
    :func:`stall_rules` in one query; the stage thresholds come with the stages."""

    team_p80: dict[tuple[int | None, int], tuple[int, int]] = field(default_factory=dict)

    def threshold(self, stage: Stage, team_id: int | None) -> StallStatus:
        """The threshold for a deal of ``team_id`` in ``stage`` (``stalled`` False, 0 days)."""
        stat = self.team_p80.get((team_id, stage.pk)) if stage.kind == StageKind.OPEN else None
        stage_days = stage.rotting_days if stage.kind == StageKind.OPEN else None
        p80_days, sample = stat if stat is not None else (None, None)
        threshold, basis = stage_days, StallBasis.STAGE.value if stage_days is not None else None
        if p80_days is not None and (threshold is None or p80_days < threshold):
            threshold, basis = p80_days, StallBasis.TEAM_P80.value
        return StallStatus(False, 0, threshold, basis, stage_days, p80_days, sample)

    def status(self, opportunity: Opportunity, stage: Stage, now: datetime, team_id: int | None) -> StallStatus:
        """``opportunity``'s stall state in ``stage`` at ``now``; ``team_id`` is its owner's team."""
        base = self.threshold(stage, team_id)
        days = max(0, (now - opportunity.stage_entered_at).days)
        stalled = (
            opportunity.outcome == Outcome.OPEN
            and base.threshold_days is not None
            and opportunity.stage_entered_at < now - timedelta(days=base.threshold_days)
        )
        return StallStatus(
            stalled, days, base.threshold_days, base.basis, base.stage_days, base.team_p80_days, base.sample_size
        )

    def q(self, stages: Sequence[Stage], now: datetime) -> Q:
        """The same rule as one SQL condition over open deals in ``stages``: per stage
        ``stage_entered_at`` before its threshold, OR per team with a smaller percentile the
        owner in that team (``owner_id IN (SELECT … team)``) and before the percentile.
        Served by ``opp_stall_idx`` (stage, outcome, stage_entered_at, owner)."""
        cond = Q(pk__in=[])
        for stage in stages:
            if stage.kind != StageKind.OPEN:
                continue
            if stage.rotting_days is not None:
                cond |= Q(stage_id=stage.pk, stage_entered_at__lt=now - timedelta(days=stage.rotting_days))
        return (cond | self._team_q(stages, now)) & Q(outcome=Outcome.OPEN)

    def q_per_row(self, stages: Sequence[Stage], now: datetime) -> Q:
        """The rule of :meth:`q` for aggregates that read every open deal anyway (``stuck_matrix``):
        the stage thresholds as ONE comparison per row with a cutoff chosen by ``CASE stage_id``
        (the ``OR`` of per-stage ranges in :meth:`q` suits index range scans instead), OR the same
        per-team terms. A stage without a threshold gives no cutoff (NULL), so no match."""
        whens = [
            When(stage_id=s.pk, then=Value(now - timedelta(days=s.rotting_days)))
            for s in stages
            if s.kind == StageKind.OPEN and s.rotting_days is not None
        ]
        cond = Q(pk__in=[])
        if whens:
            cond |= Q(stage_entered_at__lt=Case(*whens, default=None, output_field=DateTimeField()))
        return (cond | self._team_q(stages, now)) & Q(outcome=Outcome.OPEN)

    def _team_q(self, stages: Sequence[Stage], now: datetime) -> Q:
        cond = Q(pk__in=[])
        by_stage = {s.pk: s for s in stages if s.kind == StageKind.OPEN}
        for (team_id, stage_id), (p80_days, _n) in sorted(
            self.team_p80.items(), key=lambda kv: (kv[0][1], kv[0][0] or 0)
        ):
            in_stage = by_stage.get(stage_id)
            if in_stage is None or (in_stage.rotting_days is not None and in_stage.rotting_days <= p80_days):
                continue  # the stage's own threshold already covers this team
            members = (
                User.objects.filter(team_id=team_id) if team_id is not None else User.objects.filter(team__isnull=True)
            )
            cond |= Q(
                stage_id=stage_id,
                owner_id__in=members.values("pk"),
                stage_entered_at__lt=now - timedelta(days=p80_days),
            )
        return cond


def p80_days(p80_seconds: int) -> int:
    """A percentile in seconds as the whole days the rule compares with (rounded up, ≥ 1)."""
    return max(1, -(-int(p80_seconds) // SECONDS_PER_DAY))


def stall_rules(stage_ids: Sequence[int] | None = None) -> StallRules:
    """The team percentiles with enough exits (optionally only for ``stage_ids``): one query
    on ``StageDwellStat`` (a row per team and stage)."""
    qs = StageDwellStat.objects.filter(sample_size__gte=STALL_MIN_EXITS)
    if stage_ids is not None:
        qs = qs.filter(stage_id__in=list(stage_ids))
    return StallRules(
        {
            (team_id, stage_id): (p80_days(p80), n)
            for team_id, stage_id, p80, n in qs.values_list("team_id", "stage_id", "p80_seconds", "sample_size")
        }
    )


def owner_team_id(opportunity: Opportunity) -> int | None:
    """The team of the deal's owner (the owner row is loaded by every list, board and detail)."""
    return opportunity.owner.team_id


def stall_status(opportunity: Opportunity, stage: Stage, now: datetime, rules: StallRules | None = None) -> StallStatus:
    """``opportunity``'s stall state (``rules`` from :func:`stall_rules`; loaded if omitted)."""
    if rules is None:
        rules = stall_rules([stage.pk])
    return rules.status(opportunity, stage, now, owner_team_id(opportunity))


def stall_info(
    opportunity: Opportunity, stage: Stage, now: datetime, rules: StallRules | None = None
) -> tuple[bool, int]:
    """``(stalled, whole days in the current stage)`` under the stall rule above."""
    status = stall_status(opportunity, stage, now, rules)
    return status.stalled, status.days_in_stage


def stalled_q(now: datetime | None = None, *, rules: StallRules | None = None) -> Q:
    """Open deals stalled at ``now`` across every open stage (two queries: the stages, the
    percentiles). For the list filter, "My day" and the escalation job."""
    now = now or timezone.now()
    stages = list(Stage.objects.filter(kind=StageKind.OPEN))
    return (rules or stall_rules()).q(stages, now)


# ---------------------------------------------------------------------------- board


@dataclass
class BoardCard:
    opportunity: Opportunity
    stalled: bool
    days_in_stage: int
    can_write: bool
    #: the stall rule's threshold and basis for the card's hover text
    stall: StallStatus | None = None


@dataclass
class BoardColumn:
    """One open stage: totals over every matching deal, cards capped at ``BOARD_CARD_LIMIT``."""

    stage: Stage
    count: int = 0
    amount: Decimal = Decimal("0.00")
    weighted: Decimal = Decimal("0.00")
    stalled_count: int = 0
    cards: list[BoardCard] = field(default_factory=list)
    #: Rates used to bring other currencies into ``amount`` / ``weighted``, by currency.
    rates: dict[str, ExchangeRate] = field(default_factory=dict)
    #: Deals counted but left out of the totals for lack of a rate, by currency.
    unconverted: dict[str, int] = field(default_factory=dict)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))

    @property
    def other_currency_count(self) -> int:
        return sum(self.unconverted.values())

    @property
    def rates_used(self) -> list[ExchangeRate]:
        return [self.rates[c] for c in sorted(self.rates)]


@dataclass
class Board:
    pipeline: Pipeline
    pipelines: list[Pipeline]
    columns: list[BoardColumn]
    won_stage: Stage | None
    lost_stage: Stage | None
    currency: str

    @property
    def count(self) -> int:
        return sum(c.count for c in self.columns)

    @property
    def amount(self) -> Decimal:
        return sum((c.amount for c in self.columns), Decimal("0.00"))

    @property
    def weighted(self) -> Decimal:
        return sum((c.weighted for c in self.columns), Decimal("0.00"))

    @property
    def other_currency_count(self) -> int:
        return sum(c.other_currency_count for c in self.columns)

    @property
    def rates_used(self) -> list[ExchangeRate]:
        rates = {code: rate for c in self.columns for code, rate in c.rates.items()}
        return [rates[c] for c in sorted(rates)]

    @property
    def unconverted_currencies(self) -> list[str]:
        return sorted({code for c in self.columns for code in c.unconverted})


@dataclass(frozen=True)
class BoardFilters:
    """The board's filters beyond owner and search (parsed by ``BoardFilterForm``).

    ``close_month`` is the first day of a month: open deals whose ``close_date`` (their
    expected close date) falls in it. ``amount_min`` / ``amount_max`` bound the deal's
    amount in its own currency, both ends included. Each filter is one small step below
    (``filter_close_month``, ``filter_amount_range``) applied to the visible open deals
    before the totals and the cards, so counts, sums and cards always agree.
    """

    close_month: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.close_month, self.amount_min, self.amount_max))


def month_bounds(month: date) -> tuple[date, date]:
    """``(first day, first day of the next month)`` of the month containing ``month``."""
    start = month.replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1)


def filter_close_month(qs: QuerySet[Opportunity], month: date | None) -> QuerySet[Opportunity]:
    """Deals whose close date (actual for closed deals, else expected) is in ``month``
    (index ``opp_eff_close_idx``)."""
    if month is None:
        return qs
    start, end = month_bounds(month)
    return qs.filter(close_date__gte=start, close_date__lt=end)


def filter_amount_range(
    qs: QuerySet[Opportunity], amount_min: Decimal | None, amount_max: Decimal | None
) -> QuerySet[Opportunity]:
    """Deals whose amount (in the deal's currency) is within ``[amount_min, amount_max]``."""
    if amount_min is not None:
        qs = qs.filter(amount__gte=amount_min)
    if amount_max is not None:
        qs = qs.filter(amount__lte=amount_max)
    return qs


def apply_board_filters(qs: QuerySet[Opportunity], filters: BoardFilters | None) -> QuerySet[Opportunity]:
    """Every ``BoardFilters`` step in turn (no query of its own)."""
    if filters is None:
        return qs
    qs = filter_close_month(qs, filters.close_month)
    return filter_amount_range(qs, filters.amount_min, filters.amount_max)


#: Cards in a column: soonest expected close date first, undated deals last, then by id.
BOARD_CARD_ORDER = [F("expected_close_date").asc(nulls_last=True), F("id").asc()]


def _card_ids(base: QuerySet[Opportunity], columns: dict[int, BoardColumn], card_limit: int) -> list[int]:
    """Ids of the first ``card_limit`` deals of each non-empty column in ``BOARD_CARD_ORDER``.

    One small ordered query per column that the index ``opp_board_cards_idx`` (stage,
    outcome, expected close date, id) answers by walking it from the start and stopping
    after ``card_limit`` rows; a second one for the undated deals only when the dated ones
    do not fill the column (an index keeps NULLs first, so "NULLS LAST" in one ORDER BY
    would sort the whole column instead).
    """
    ids: list[int] = []
    for stage_id, column in columns.items():
        if not column.count:
            continue
        in_stage = base.filter(stage_id=stage_id)
        dated = list(
            in_stage.filter(expected_close_date__isnull=False)
            .order_by("expected_close_date", "id")
            .values_list("pk", flat=True)[:card_limit]
        )
        ids += dated
        if len(dated) < min(card_limit, column.count):
            ids += (
                in_stage.filter(expected_close_date__isnull=True)
                .order_by("id")
                .values_list("pk", flat=True)[: card_limit - len(dated)]
            )
    return ids


def active_pipelines() -> list[Pipeline]:
    return list(Pipeline.objects.filter(is_active=True).order_by("position", "id"))


def board(
    user: User,
    *,
    pipeline: Pipeline,
    owner: int | None = None,
    q: str | None = None,
    card_limit: int = BOARD_CARD_LIMIT,
    now: datetime | None = None,
    tag: int | None = None,
    filters: BoardFilters | None = None,
) -> Board:
    """The kanban for ``pipeline``: one column per open stage with the open deals the
    user may see (optionally one owner's, optionally matching ``q``).

    Column totals come from one aggregate query over the same visible set as the cards:
    ``count`` counts every deal; ``amount`` and ``weighted`` (Σ amount × probability /
    100) are in the company currency, rounded once per column. Deals in other currencies
    are converted with the rate of the day (``rates_on``, one query), and the column lists
    the rates it used (``rates``); deals of a currency without a rate on that day are
    counted in ``unconverted`` / ``other_currency_count`` and left out of the sums — never
    added up at a guessed rate. Cards (the first ``card_limit`` per open stage by expected
    close date, then id) are picked by one small index-ordered id query per non-empty open
    stage (:func:`_card_ids`) and load in one query with account and owner. A card is
    stalled under the stall rule (:class:`StallRules`: the stage's threshold or the
    owner's team's 80th percentile, whichever is passed first). Query
    count does not depend on the number of deals (it grows by one per open stage). The
    totals read the covering indexes ``opp_board_totals_idx``
    (everyone's deals) and ``opp_board_owner_totals_idx`` (some owners' deals).
    """
    now = now or timezone.now()
    # Hidden stages hold no deals (they must be emptied before hiding) and take none.
    stages = list(Stage.objects.filter(pipeline=pipeline, is_active=True).order_by("position"))
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    base = opportunities_visible_to(user).filter(pipeline=pipeline, outcome=Outcome.OPEN)
    if owner:
        base = base.filter(owner_id=owner)
    base = _search(base, q)
    base = filter_by_tag(base, tag)  # salesflow.tags: the board's tag filter (?tag=)
    base = apply_board_filters(base, filters)  # close month, amount range (see BoardFilters)
    currency = company_currency()
    # the stall rule (stage threshold or the team's 80th percentile): one query for the percentiles
    rules = stall_rules([s.pk for s in open_stages])
    # the aggregate reads every open deal of the board anyway: the rule's per-row form (one
    # CASE comparison per deal) instead of an OR of a range per stage, which PostgreSQL tested
    # term by term on every row (19 of the 21 ms of an administrator's totals at bench scale 0.1)
    stalled_cond = rules.q_per_row(open_stages, now)
    # Grouped by currency (to convert each currency's sum once) and by probability (so the
    # weighted total is Σ sum × p computed exactly here, not amount × probability in SQL).
    # At most open stages × currencies × 101 rows, whatever the number of deals.
    # COUNT(stage_id) (never NULL), not COUNT(id): PostgreSQL then reads only the covering index.
    totals = list(
        base.order_by()
        .values("stage_id", "currency", "probability")
        .annotate(
            n=Count("stage_id"),
            stalled=Count("stage_id", filter=stalled_cond),
            **money_sum_annotations("amount_sum", "amount"),
        )
    )
    # The rate of the day for every foreign currency on the board: one query, or none.
    rates = rates_on({row["currency"] for row in totals}, timezone.localdate(now))
    columns = {s.pk: BoardColumn(stage=s) for s in open_stages}
    exact: dict[int, tuple[Decimal, Decimal]] = {}  # stage → (Σ amount, Σ amount × p), unrounded
    ctx = getcontext().copy()
    ctx.prec = EXACT_PRECISION
    for row in totals:
        column = columns.get(row["stage_id"])
        if column is None:
            continue
        column.count += row["n"]
        column.stalled_count += row["stalled"]
        code = row["currency"]
        rate = rates.get(code)
        if code != currency and rate is None:
            column.unconverted[code] = column.unconverted.get(code, 0) + row["n"]
            continue
        if rate is not None:
            column.rates[code] = rate
        converted = ctx.multiply(money_sum_value(row, "amount_sum"), rate.rate if rate is not None else Decimal(1))
        amount_sum, weighted_x100 = exact.get(row["stage_id"], (Decimal(0), Decimal(0)))
        exact[row["stage_id"]] = (
            ctx.add(amount_sum, converted),
            ctx.add(weighted_x100, ctx.multiply(converted, Decimal(row["probability"]))),
        )
    for stage_id, (amount_sum, weighted_x100) in exact.items():
        columns[stage_id].amount = apply_rate(amount_sum, None)
        columns[stage_id].weighted = apply_rate(ctx.divide(weighted_x100, Decimal(100)), None)
    if columns and card_limit > 0:
        for opp in (
            Opportunity.objects.filter(pk__in=_card_ids(base, columns, card_limit))
            .select_related("account", "owner")
            .annotate(
                # read-write shares make a card draggable too: decided in the same query
                sf_can_write=Exists(opportunities_writable_by(user).filter(pk=OuterRef("pk")))
            )
            .order_by("stage_id", *BOARD_CARD_ORDER)
        ):
            column = columns[opp.stage_id]
            stall = rules.status(opp, column.stage, now, opp.owner.team_id)
            can_write = bool(opp.sf_can_write)  # type: ignore[attr-defined]
            column.cards.append(
                BoardCard(
                    opportunity=opp,
                    stalled=stall.stalled,
                    days_in_stage=stall.days_in_stage,
                    can_write=can_write,
                    stall=stall,
                )
            )
    return Board(
        pipeline=pipeline,
        # the switcher: the user's pipelines (sales.selectors.pipelines_for), and this one
        pipelines=_with(list(pipelines_for(user)), pipeline),
        columns=[columns[s.pk] for s in open_stages],
        won_stage=next((s for s in stages if s.kind == StageKind.WON), None),
        lost_stage=next((s for s in stages if s.kind == StageKind.LOST), None),
        currency=currency,
    )


# --------------------------------------------------------------------------- detail


@dataclass
class OpportunityDetail:
    opportunity: Opportunity
    stages: list[Stage]
    contact_roles: list[OpportunityContact]
    competitors: list[Competitor]
    stage_changes: list[StageChange]
    stalled: bool
    days_in_stage: int
    stall: StallStatus | None = None


def stage_changes_for(opportunity: Opportunity) -> QuerySet[StageChange]:
    """The deal's stage history, oldest first, with stages and users loaded."""
    return (
        StageChange.objects.filter(opportunity=opportunity)
        .select_related("from_stage", "to_stage", "changed_by")
        .order_by("changed_at", "id")
    )


def opportunity_detail(opportunity: Opportunity, *, now: datetime | None = None) -> OpportunityDetail:
    """Everything the detail page shows about an opportunity the caller may already see
    (fetched with ``get_opportunity_for_user``), in a fixed number of queries."""
    now = now or timezone.now()
    stall = stall_status(opportunity, opportunity.stage, now)
    return OpportunityDetail(
        opportunity=opportunity,
        stages=list(
            Stage.objects.filter(pipeline_id=opportunity.pipeline_id)
            .filter(Q(is_active=True) | Q(pk=opportunity.stage_id))
            .order_by("position")
        ),
        contact_roles=list(
            OpportunityContact.objects.filter(opportunity=opportunity)
            .select_related("contact")
            .order_by("role", "contact__name", "id")
        ),
        competitors=list(opportunity.competitors.order_by("name")),
        stage_changes=list(stage_changes_for(opportunity)),
        stalled=stall.stalled,
        days_in_stage=stall.days_in_stage,
        stall=stall,
    )


# -------------------------------------------------------------------- lookups/options


def stage_in_pipeline(pipeline_id: int, ref: int | str) -> Stage | None:
    """A stage of the pipeline by id or code (``None`` if there is no such stage)."""
    text = str(ref).strip()
    qs = Stage.objects.filter(pipeline_id=pipeline_id)
    return qs.filter(pk=int(text)).first() if text.isdigit() else qs.filter(code=text).first()


def pipeline_by_ref(ref: int | str) -> Pipeline | None:
    text = str(ref).strip()
    qs = Pipeline.objects.filter(is_active=True)
    return qs.filter(pk=int(text)).first() if text.isdigit() else qs.filter(code=text).first()


def pipelines_with_stages() -> QuerySet[Pipeline]:
    """Active pipelines with their active stages in order (hidden stages take no deals)."""
    return Pipeline.objects.filter(is_active=True).prefetch_related(
        Prefetch("stages", queryset=Stage.objects.filter(is_active=True).order_by("position"))
    )


def active_stages() -> QuerySet[Stage]:
    """Active stages of active pipelines in configured order, pipeline loaded (filters)."""
    return (
        Stage.objects.filter(is_active=True, pipeline__is_active=True)
        .select_related("pipeline")
        .order_by("pipeline__position", "pipeline_id", "position")
    )


def open_stages() -> QuerySet[Stage]:
    """Active open stages of active pipelines (for create forms), pipeline loaded."""
    return (
        Stage.objects.filter(kind=StageKind.OPEN, is_active=True, pipeline__is_active=True)
        .select_related("pipeline")
        .order_by("pipeline__position", "pipeline_id", "position")
    )


def active_lost_reasons() -> QuerySet[LostReason]:
    return LostReason.objects.filter(is_active=True).order_by("position", "id")


def competitors_all() -> QuerySet[Competitor]:
    return Competitor.objects.order_by("name")


def writable_accounts_for(user: User) -> QuerySet[Account]:
    """Accounts the user may add opportunities to (visible and writable)."""
    return accounts_writable_by(user)


def owner_filter_choices(user: User, *, limit: int = 500) -> QuerySet[User]:
    """People whose deals the user can see (the owner filter of lists and the board)."""
    qs = User.objects.filter(is_active=True)
    ids = visible_owner_ids(user)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.order_by("display_name", "username")[:limit]


# -------------------------------------------------------------------- field history


def field_changes_between(
    user: User,
    start: datetime,
    end: datetime,
    fields: Sequence[str] | None = None,
) -> QuerySet[OpportunityFieldChange]:
    """Changes of the tracked deal fields made in ``[start, end)`` (all tracked fields,
    or only ``fields``: ``HistoryField`` values) on the deals ``user`` may see, oldest
    first, with the deal and the author loaded. Serves forecasting and "what changed this
    week" (index ``oppfield_field_time_idx``)."""
    qs = OpportunityFieldChange.objects.filter(
        changed_at__gte=start,
        changed_at__lt=end,
        opportunity__in=opportunities_visible_to(user).values("pk"),
    )
    if fields is not None:
        qs = qs.filter(field__in=list(fields))
    return qs.select_related("opportunity", "changed_by").order_by("changed_at", "id")


def field_history_for(opportunity: Opportunity) -> QuerySet[OpportunityFieldChange]:
    """One deal's field history, oldest first (index ``oppfield_opp_time_idx``); the
    caller has fetched the deal through ``get_opportunity_for_user``."""
    return (
        OpportunityFieldChange.objects.filter(opportunity=opportunity)
        .select_related("changed_by")
        .order_by("changed_at", "id")
    )


def pipeline_change_options(opportunity: Opportunity) -> list[tuple[Pipeline, list[Stage]]]:
    """The other pipelines the deal's owner's team uses (``pipelines_for(owner)``) with the
    active stages this deal may land in (open stages for a deal that is not won or lost,
    else the stage of its outcome)."""
    kind = {Outcome.WON: StageKind.WON, Outcome.LOST: StageKind.LOST}.get(Outcome(opportunity.outcome), StageKind.OPEN)
    pipelines = (
        pipelines_for(opportunity.owner)
        .exclude(pk=opportunity.pipeline_id)
        .order_by("position", "id")
        .prefetch_related(
            Prefetch("stages", queryset=Stage.objects.filter(is_active=True, kind=kind).order_by("position"))
        )
    )
    return [(p, list(p.stages.all())) for p in pipelines]


# --- the account page's deals panel ----------------------------------------------------------


def opportunities_for_account(user: User, account: Account) -> QuerySet[Opportunity]:
    """The visible deals of ``account``: open ones first, then the rest, newest first, with
    stage and owner. Served by the account foreign key index (an account has few deals)."""
    return (
        opportunities_visible_to(user)
        .filter(account_id=account.pk)
        .select_related("stage", "owner")
        .order_by(Case(When(outcome=Outcome.OPEN, then=Value(0)), default=Value(1)), "-created_at", "-id")
    )


# ---------------------------------------------------------------- list totals (issue 6)


@dataclass
class OpportunityTotals:
    """Count, Σ amount and Σ amount × probability of a filtered list, in the company currency."""

    count: int = 0
    amount: Decimal = Decimal("0.00")
    weighted: Decimal = Decimal("0.00")
    currency: str = ""
    #: Rates used to bring other currencies in, by currency.
    rates: dict[str, ExchangeRate] = field(default_factory=dict)
    #: Deals counted but left out of the sums for lack of a rate, by currency.
    unconverted: dict[str, int] = field(default_factory=dict)

    @property
    def unconverted_count(self) -> int:
        return sum(self.unconverted.values())


def opportunity_totals(qs: QuerySet[Opportunity], *, on: date | None = None) -> OpportunityTotals:
    """Totals of the deals of ``qs`` (a filtered ``opportunity_list``): ONE aggregate query
    grouped by currency and probability (so Σ amount × p is exact), then the rates of the day
    (``rates_on``, one query when foreign currencies appear). Deals of a currency without a
    rate are counted in ``unconverted`` and left out of the sums, never guessed."""
    currency = company_currency()
    rows = list(
        qs.order_by()
        .values("currency", "probability")
        .annotate(n=Count("id"), **money_sum_annotations("amount_sum", "amount"))
    )
    rates = rates_on({row["currency"] for row in rows}, on or timezone.localdate())
    totals = OpportunityTotals(currency=currency)
    ctx = getcontext().copy()
    ctx.prec = EXACT_PRECISION
    amount_sum, weighted_x100 = Decimal(0), Decimal(0)
    for row in rows:
        totals.count += row["n"]
        code = row["currency"]
        rate = rates.get(code)
        if code != currency and rate is None:
            totals.unconverted[code] = totals.unconverted.get(code, 0) + row["n"]
            continue
        if rate is not None:
            totals.rates[code] = rate
        converted = ctx.multiply(money_sum_value(row, "amount_sum"), rate.rate if rate is not None else Decimal(1))
        amount_sum = ctx.add(amount_sum, converted)
        weighted_x100 = ctx.add(weighted_x100, ctx.multiply(converted, Decimal(row["probability"])))
    totals.amount = apply_rate(amount_sum, None)
    totals.weighted = apply_rate(ctx.divide(weighted_x100, Decimal(100)), None)
    return totals


# ------------------------------------------------------ pipelines per team (settings)


def _team_chain(team_id: int, parents: Mapping[int, int | None]) -> list[int]:
    """``team_id`` and the teams above it, nearest first (a cycle in the data stops)."""
    chain: list[int] = []
    current: int | None = team_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


def pipeline_team_ids(user: User) -> set[int] | None:
    """The teams whose pipelines ``user`` works with; ``None``: every pipeline
    (administrators and the system actor).

    Their own team and the teams above it (a pipeline given to a department is used by
    its sub-teams); a manager also the teams they manage and those below them; an
    assistant also the teams of the reps delegated to them. Cached on the user for the
    request (the teams' tree is one query).
    """
    cached: set[int] | bool | None = getattr(user, "_sf_pipeline_team_ids", False)
    if cached is not False:
        return cached  # type: ignore[return-value]
    result: set[int] | None
    if is_system_actor(user) or (user.is_authenticated and user.is_admin):
        result = None
    else:
        roots: set[int] = {user.team_id} if user.team_id else set()
        if user.role == Role.MANAGER:
            roots |= managed_team_ids(user)
        elif user.role == Role.ASSISTANT:
            roots |= {pk for pk in user.delegated_reps.values_list("team_id", flat=True) if pk is not None}
        result = set()
        if roots:
            parents = dict(Team.objects.values_list("pk", "parent_id"))
            for root in roots:
                result.update(_team_chain(root, parents))
    user._sf_pipeline_team_ids = result  # type: ignore[attr-defined]
    return result


def pipelines_for(user: User) -> QuerySet[Pipeline]:
    """The active pipelines ``user`` may start deals in and sees in the board's switcher:
    those without teams (available to everyone), the global default, and those of
    ``pipeline_team_ids(user)``; every active pipeline for administrators. In configured
    order. One query (the team links are probed by ``team_pipeline_unique`` and the
    pipeline foreign key's index)."""
    qs = Pipeline.objects.filter(is_active=True)
    team_ids = pipeline_team_ids(user)
    if team_ids is not None:
        links = TeamPipeline.objects.filter(pipeline=OuterRef("pk"))
        qs = qs.filter(Q(is_default=True) | ~Exists(links) | Exists(links.filter(team_id__in=team_ids)))
    return qs.order_by("position", "id")


def pipeline_available_to(user: User, pipeline: Pipeline) -> bool:
    return pipelines_for(user).filter(pk=pipeline.pk).exists()


def team_default_pipeline(user: User) -> Pipeline | None:
    """The default pipeline of the nearest team up from ``user``'s own team that has an
    active one (``TeamDefaultPipeline``); ``None`` when none has (callers then take the
    global default, ``sales.services.default_pipeline``)."""
    if not user.team_id:
        return None
    chain = _team_chain(user.team_id, dict(Team.objects.values_list("pk", "parent_id")))
    rows = {
        row.team_id: row.pipeline
        for row in TeamDefaultPipeline.objects.filter(team_id__in=chain, pipeline__is_active=True).select_related(
            "pipeline"
        )
    }
    return next((rows[pk] for pk in chain if pk in rows), None)


def pipelines_for_settings() -> QuerySet[Pipeline]:
    """Every pipeline (hidden ones too) for the settings list, with its stages in order,
    its teams and the teams it is the default of: three queries whatever the number."""
    return Pipeline.objects.order_by("position", "id").prefetch_related(
        Prefetch("stages", queryset=Stage.objects.order_by("position")),
        Prefetch("team_links", queryset=TeamPipeline.objects.select_related("team").order_by("team__name")),
        Prefetch(
            "default_for_teams", queryset=TeamDefaultPipeline.objects.select_related("team").order_by("team__name")
        ),
    )


def stages_in_use(pipeline: Pipeline) -> dict[int, int]:
    """Stage id → number of deals in it (any outcome), for the pipeline's stages that hold
    deals: one grouped query (``opp_owner_stage_idx`` does not serve it; ``opp_board_idx``
    — pipeline, stage, outcome — does)."""
    rows = (
        Opportunity.objects.filter(pipeline=pipeline)
        .order_by()
        .values("stage_id")
        .annotate(n=Count("stage_id"))
        .values_list("stage_id", "n")
    )
    return dict(rows)


def stages_with_history(pipeline: Pipeline) -> set[int]:
    """Ids of the pipeline's stages that stage history names (they can be hidden, never deleted)."""
    to_ids = StageChange.objects.filter(to_stage__pipeline=pipeline).values_list("to_stage_id", flat=True).distinct()
    return set(to_ids)


def _with(pipelines: list[Pipeline], pipeline: Pipeline) -> list[Pipeline]:
    return pipelines if any(p.pk == pipeline.pk for p in pipelines) else [*pipelines, pipeline]


# ------------------------------------------------------- where is each rep stuck


@dataclass
class StuckCell:
    """One rep's open deals in one stage: count, value in the company currency (at the
    rate of the day; deals of a currency without a rate counted in ``unconverted``), median
    and worst whole days in the stage, and how many are stalled."""

    stage: Stage
    count: int = 0
    amount: Decimal = Decimal("0.00")
    unconverted: int = 0
    median_days: Decimal | None = None
    worst_days: int | None = None
    stalled: int = 0


@dataclass
class StuckRow:
    owner: User
    cells: list[StuckCell]

    @property
    def count(self) -> int:
        return sum(c.count for c in self.cells)

    @property
    def stalled(self) -> int:
        return sum(c.stalled for c in self.cells)

    @property
    def amount(self) -> Decimal:
        return sum((c.amount for c in self.cells), Decimal("0.00"))


@dataclass
class StuckMatrix:
    pipeline: Pipeline
    pipelines: list[Pipeline]
    stages: list[Stage]
    rows: list[StuckRow]
    currency: str
    rates: dict[str, ExchangeRate] = field(default_factory=dict)
    unconverted: dict[str, int] = field(default_factory=dict)
    include_empty: bool = False
    #: people of the scope left out because they have no open deal in the pipeline's open
    #: stages (0 when ``include_empty``)
    hidden: int = 0

    @property
    def rates_used(self) -> list[ExchangeRate]:
        return [self.rates[c] for c in sorted(self.rates)]

    @property
    def unconverted_currencies(self) -> list[str]:
        return sorted(self.unconverted)


def stuck_owners(user: User, ids: set[int] | None) -> list[User]:
    """The rows of the matrix: the active people of the user's ownership scope who can own
    deals (everyone's for an administrator; a rep only themselves)."""
    qs = User.objects.filter(is_active=True).exclude(role=Role.SUPPORT)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return list(qs.order_by("display_name", "username", "pk"))


def _stall_windows(
    stages: Sequence[Stage], rules: StallRules, now: datetime
) -> dict[int, tuple[date, datetime, datetime]]:
    """Per stage with any stall threshold: ``(first month, lo, hi)`` — every cutoff of the
    stage (its own threshold, each team percentile that applies) lies in ``[lo, hi]``,
    ``lo`` the start of the earliest cutoff's month (UTC). Deals entered before ``lo`` are
    stalled whoever owns them (if any threshold applies to the owner's team); deals entered
    at or after ``hi`` are not; only the window ``[lo, hi)`` needs the rule row by row."""
    teams_by_stage: dict[int, set[int | None]] = {}
    for team_id, stage_id in rules.team_p80:
        teams_by_stage.setdefault(stage_id, set()).add(team_id)
    windows: dict[int, tuple[date, datetime, datetime]] = {}
    for s in stages:
        days = {rules.threshold(s, t).threshold_days for t in teams_by_stage.get(s.pk, set())}
        days.add(s.rotting_days if s.kind == StageKind.OPEN else None)
        known = [d for d in days if d is not None]
        if not known:
            continue
        first = month_of(now - timedelta(days=max(known)))
        windows[s.pk] = (first, month_start(first), now - timedelta(days=min(known)))
    return windows


def _stalled_in_windows(
    base: QuerySet[Opportunity],
    stages: Sequence[Stage],
    rules: StallRules,
    windows: Mapping[int, tuple[date, datetime, datetime]],
    now: datetime,
) -> dict[tuple[int, int], int]:
    """Stalled deals per (owner, stage) among those entered inside each stage's window
    (``_stall_windows``): ONE grouped query over range scans of ``opp_stall_idx``, the
    stall rule itself (``StallRules.q_per_row``) deciding row by row."""
    if not windows:
        return {}
    in_window = Q(pk__in=[])
    for stage_id, (_first, lo, hi) in windows.items():
        in_window |= Q(stage_id=stage_id, stage_entered_at__gte=lo, stage_entered_at__lt=hi)
    rows = (
        base.filter(in_window)
        .filter(rules.q_per_row(stages, now))
        .order_by()
        .values_list("owner_id", "stage_id")
        .annotate(n=Count("id"))
    )
    return {(owner_id, stage_id): n for owner_id, stage_id, n in rows}


#: Cells per median query (six parameters each: well inside both databases' limits).
STUCK_MEDIAN_CHUNK = 2000


def _middle_spans(
    buckets: QuerySet[StuckBucket], totals: Mapping[tuple[int, int], int]
) -> dict[tuple[int, int], tuple[date, date, int]]:
    """Per cell (``totals``: owner, stage → open deals): the first and last month holding its
    middle rank(s) ⌈n/2⌉ and ⌊n/2⌋ + 1 (by entry time), and the deals before the first one.
    ONE read of the cells' buckets in the order of ``stuck_bucket_unique`` (owner, stage,
    month), a running count per cell in Python (cheaper than SQL windows over the buckets
    on both databases: measured 6.7 vs 18 ms CPU for 1,986 buckets on SQLite).

    The read is the queryset's own SQL run on a plain cursor: the months stay as the
    database returns them (ISO text on SQLite, which orders and compares as the dates do)
    and only the few months found are converted — Django's per-row converters cost more
    than the loop (≈ 20,000 buckets for an administrator at bench scale 1.0). A cell's rows
    past its middle are skipped with one comparison."""
    rows = buckets.order_by("owner_id", "stage_id", "month").values_list("owner_id", "stage_id", "month", "count")
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    raw: dict[tuple[int, int], tuple[Any, Any, int]] = {}
    owner: int | None = None
    stage: int | None = None
    current: Any = None
    n = cum = before = 0
    done = True
    for owner_id, stage_id, month, count in fetched:
        if stage_id != stage or owner_id != owner:
            owner, stage, current, cum = owner_id, stage_id, None, 0
            n = totals.get((owner_id, stage_id), 0)
            done = not n
        if done:
            continue
        if month != current:  # a month's buckets (one per currency) are one range of ranks
            current, before = month, cum
            if 2 * before > n:  # past the middle: the cell's later months hold none of it
                done = True
                continue
        cum += count
        # the month holds ranks (before, cum]; the middle ranks are ⌈n/2⌉ .. ⌊n/2⌋ + 1,
        # so it holds one of them when 2·cum ≥ n and 2·before ≤ n
        if 2 * cum >= n:
            key = (owner_id, stage_id)
            found = raw.get(key)
            raw[key] = (month, month, before) if found is None else (found[0], month, found[2])
    return {key: (_as_date(first), _as_date(last), before) for key, (first, last, before) in raw.items()}


def _as_date(value: date | str) -> date:
    """A ``DateField`` value read by raw SQL (SQLite returns the stored ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _middle_entries(
    buckets: QuerySet[StuckBucket], totals: Mapping[tuple[int, int], int], pipeline_id: int
) -> list[tuple[int, int, datetime]]:
    """``(owner, stage, stage_entered_at)`` of the middle deal(s) of each cell by time in
    stage: the months holding the middle ranks (``_middle_spans``), then ONE query over the
    deals of just those months, joining the cells (owner, stage, month range, the middle
    ranks within it: a ``VALUES`` list on SQLite, six arrays ``unnest``-ed on PostgreSQL)
    to range scans of ``opp_stuck_median_idx``. SQLite
    numbers each cell's rows there in a correlated subquery per middle rank; PostgreSQL
    seeks each cell's middle rows with ``LATERAL … ORDER BY … LIMIT/OFFSET`` (a plain join
    made it hash the whole table)."""
    spans = _middle_spans(buckets, totals)
    if not spans:
        return []
    opp = Opportunity._meta
    q = connection.ops.quote_name
    fields = {f.name: f for f in opp.concrete_fields}
    col = {name: q(str(fields[name].column)) for name in ("owner", "stage", "pipeline", "outcome", "stage_entered_at")}
    pk = q(str(opp.pk.column))
    table = q(opp.db_table)
    match = (
        f"o.{col['pipeline']} = %s AND o.{col['outcome']} = %s"
        f" AND o.{col['owner']} = c.owner_id AND o.{col['stage']} = c.stage_id"
        f" AND o.{col['stage_entered_at']} >= c.lo AND o.{col['stage_entered_at']} < c.hi"
    )
    if connection.vendor == "postgresql":
        body = (
            "SELECT c.owner_id, c.stage_id, x.entered FROM sf_cells c CROSS JOIN LATERAL ("  # noqa: S608
            f"SELECT o.{col['stage_entered_at']} AS entered FROM {table} o WHERE {match}"
            f" ORDER BY o.{col['stage_entered_at']}, o.{pk} LIMIT c.k2 - c.k1 + 1 OFFSET c.k1 - 1) x"
        )
    else:
        # one correlated subquery per cell and middle rank: a join of the cells to the deals
        # made SQLite build a Bloom filter by scanning the whole table (91 against 28 ms CPU
        # for 1,200 cells at the scale-1.0 size); a correlated OFFSET is refused by SQLite
        def kth(rank: str) -> str:
            return (
                f"(SELECT w.e FROM (SELECT o.{col['stage_entered_at']} AS e, ROW_NUMBER() OVER ("  # noqa: S608
                f"ORDER BY o.{col['stage_entered_at']}, o.{pk}) AS rn FROM {table} o WHERE {match}) w"
                f" WHERE w.rn = c.{rank})"
            )

        body = f"SELECT c.owner_id, c.stage_id, c.k1, c.k2, {kth('k1')}, {kth('k2')} FROM sf_cells c"  # noqa: S608
    # the pipeline and outcome of ``match``, once per use of it in ``body``
    matched: list[Any] = [pipeline_id, Outcome.OPEN.value] * (body.count("%s") // 2)
    out: list[tuple[int, int, datetime]] = []
    items = list(spans.items())
    postgres = connection.vendor == "postgresql"
    adapt = connection.ops.adapt_datetimefield_value
    for start in range(0, len(items), STUCK_MEDIAN_CHUNK):
        chunk = items[start : start + STUCK_MEDIAN_CHUNK]
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [])
        owners, stage_ids, los, his, k1s, k2s = columns
        for (owner_id, stage_id), (first, last, before) in chunk:
            n = totals[(owner_id, stage_id)]
            owners.append(owner_id)
            stage_ids.append(stage_id)
            # the months' first days: dates on PostgreSQL (made UTC midnights there), the
            # UTC midnights themselves on SQLite
            los.append(first if postgres else adapt(month_start(first)))
            his.append(next_month(last) if postgres else adapt(month_start(next_month(last))))
            k1s.append((n + 1) // 2 - before)
            k2s.append(n // 2 + 1 - before)
        params: list[Any]
        if postgres:
            # six arrays, not six parameters per cell: psycopg's client-side binding quotes
            # every parameter in Python (≈ 33 µs a cell, 40 ms for 1,236 cells; arrays of
            # integers and dates ≈ 3 µs)
            params = list(columns)
            cells = (
                "SELECT o, s, l::timestamp AT TIME ZONE 'UTC', h::timestamp AT TIME ZONE 'UTC', a, b"
                " FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::date[], %s::integer[], %s::integer[])"
                " AS u (o, s, l, h, a, b)"
            )
        else:
            params = [value for row in zip(*columns, strict=True) for value in row]
            cells = "VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
        # only quoted identifiers from the model's metadata are formatted in; values are parameters
        sql = f"WITH sf_cells (owner_id, stage_id, lo, hi, k1, k2) AS ({cells}) {body}"
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *matched])
            if connection.vendor == "postgresql":
                for owner_id, stage_id, entered in cursor.fetchall():
                    out.append((owner_id, stage_id, _as_aware(entered)))
            else:
                for owner_id, stage_id, k1, k2, first_entry, second_entry in cursor.fetchall():
                    out.append((owner_id, stage_id, _as_aware(first_entry)))
                    if k2 != k1:  # an even count: the two middle deals
                        out.append((owner_id, stage_id, _as_aware(second_entry)))
    return out


def _as_aware(value: datetime | str) -> datetime:
    """A ``stage_entered_at`` read by raw SQL (SQLite returns the stored text) as UTC."""
    moment = value if isinstance(value, datetime) else parse_datetime(value)
    if moment is None:
        raise ValueError(value)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def stuck_matrix(
    user: User, *, pipeline: Pipeline, now: datetime | None = None, include_empty: bool = False
) -> StuckMatrix:
    """ "Where is each rep stuck": reps in the user's scope (``visible_owner_ids``: the
    manager's team subtree, everyone for an administrator, a rep alone) × the open stages
    of ``pipeline``; each cell aggregates that rep's open deals in that stage.

    People with no open deal in those stages are left out (counted in ``hidden``) unless
    ``include_empty``; the filter is applied to the rows already read, so both choices run
    the same queries.

    Exact and live, read from the maintained aggregate ``StuckBucket`` (open deals by
    owner, stage, currency and month of stage entry; ``sales.stuck_services``) rather than
    every open deal. Queries do not depend on the number of deals: the scope, stages,
    percentiles, people, ONE grouped read of the buckets (count, exact sum, oldest entry,
    and the deals entered before each stage's stall window — stalled whoever owns them),
    ONE range query counting the stalled deals inside the stall windows under the rule
    (``_stalled_in_windows``), two for the medians (``_middle_entries``: the buckets holding
    each cell's middle rank, then the middle deals of just those months), and the rates of
    the day (as the board converts: ``rates_on``, ``apply_rate``). People outside the
    current scope list who still own deals in it (e.g. deactivated) get a row too (one more
    query only then)."""
    now = now or timezone.now()
    ids = visible_owner_ids(user)
    stages = list(Stage.objects.filter(pipeline=pipeline, is_active=True, kind=StageKind.OPEN).order_by("position"))
    rules = stall_rules([s.pk for s in stages])
    windows = _stall_windows(stages, rules, now)
    buckets = StuckBucket.objects.filter(pipeline=pipeline, stage_id__in=[s.pk for s in stages])
    # the stall window's deals: the stages imply the pipeline, so ``opp_stall_idx`` (stage,
    # outcome, stage_entered_at, owner) covers the query
    in_scope = Opportunity.objects.filter(outcome=Outcome.OPEN)
    if ids is not None:
        buckets = buckets.filter(owner_id__in=ids)
        in_scope = in_scope.filter(owner_id__in=ids)
    early_month = Case(
        *[When(stage_id=stage_id, then=Value(first)) for stage_id, (first, _lo, _hi) in windows.items()],
        default=None,
        output_field=DateField(),
    )
    totals = list(
        buckets.order_by()
        .values("owner_id", "stage_id", "currency")
        .annotate(
            n=Sum("count"),
            early=Sum("count", filter=Q(month__lt=early_month)) if windows else Value(0),
            oldest=Min("oldest"),
            amount_sum_hi=Sum("amount_hi"),
            amount_sum_lo=Sum("amount_lo"),
        )
    )
    owners = stuck_owners(user, ids)
    known = {u.pk for u in owners}
    missing = {row["owner_id"] for row in totals} - known
    if missing:
        owners += list(User.objects.filter(pk__in=missing).order_by("display_name", "username", "pk"))
    currency = company_currency()
    rates = rates_on({row["currency"] for row in totals}, timezone.localdate(now))
    matrix = StuckMatrix(pipeline=pipeline, pipelines=active_pipelines(), stages=stages, rows=[], currency=currency)
    cells: dict[tuple[int, int], StuckCell] = {}
    team_of: dict[int, int | None] = {}
    for owner in owners:
        team_of[owner.pk] = owner.team_id
        row_cells = [StuckCell(stage=s) for s in stages]
        matrix.rows.append(StuckRow(owner=owner, cells=row_cells))
        for cell in row_cells:
            cells[(owner.pk, cell.stage.pk)] = cell
    exact: dict[tuple[int, int], Decimal] = {}
    ctx = getcontext().copy()
    ctx.prec = EXACT_PRECISION
    for row in totals:
        key = (row["owner_id"], row["stage_id"])
        found = cells.get(key)
        if found is None:
            continue  # a hidden stage (emptied before hiding, so never in practice)
        cell = found
        cell.count += row["n"]
        if row["early"] and rules.threshold(cell.stage, team_of[key[0]]).threshold_days is not None:
            cell.stalled += row["early"]  # entered before every cutoff of the stage
        worst = max(0, (now - row["oldest"]).days)
        cell.worst_days = worst if cell.worst_days is None else max(cell.worst_days, worst)
        code = row["currency"]
        rate = rates.get(code)
        if code != currency and rate is None:
            cell.unconverted += row["n"]
            matrix.unconverted[code] = matrix.unconverted.get(code, 0) + row["n"]
            continue
        if rate is not None:
            matrix.rates[code] = rate
        converted = ctx.multiply(money_sum_value(row, "amount_sum"), rate.rate if rate is not None else Decimal(1))
        exact[key] = ctx.add(exact.get(key, Decimal(0)), converted)
    for key, value in exact.items():
        cells[key].amount = apply_rate(value, None)
    for key, n in _stalled_in_windows(in_scope, stages, rules, windows, now).items():
        if key in cells:
            cells[key].stalled += n
    middles: dict[tuple[int, int], list[int]] = {}
    counts = {key: cell.count for key, cell in cells.items() if cell.count}
    for owner_id, stage_id, entered in _middle_entries(buckets, counts, pipeline.pk):
        middles.setdefault((owner_id, stage_id), []).append(max(0, (now - entered).days))
    for key, days in middles.items():
        if key in cells:
            cells[key].median_days = Decimal(sum(days)) / Decimal(len(days))
    matrix.include_empty = include_empty
    if not include_empty:
        shown = [row for row in matrix.rows if row.count]
        matrix.hidden = len(matrix.rows) - len(shown)
        matrix.rows = shown
    return matrix


def refresh_stage_ranks(*, pipeline_ids: Iterable[int] | None = None) -> int:
    """Rewrite ``Opportunity.stage_rank`` for the deals of ``pipeline_ids`` (every pipeline
    when ``None``) from the current pipeline and stage positions; returns how many deals
    changed. One UPDATE per stage, only over deals whose rank differs (the board index
    ``opp_board_idx`` finds them). Called after stages or pipelines are reordered and after
    bulk loads that write deals without the services (demo, benchmark)."""
    stages = Stage.objects.select_related("pipeline").only("id", "position", "pipeline__id", "pipeline__position")
    if pipeline_ids is not None:
        stages = stages.filter(pipeline_id__in=list(pipeline_ids))
    changed = 0
    for stage in stages:
        rank = stage_rank_of(stage.pipeline.position, stage.pipeline_id, stage.position)
        changed += (
            Opportunity.objects.filter(pipeline_id=stage.pipeline_id, stage_id=stage.pk)
            .exclude(stage_rank=rank)
            .update(stage_rank=rank)
        )
    return changed
