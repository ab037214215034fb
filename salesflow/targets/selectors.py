"""Reads of plans and targets (issue 10): the targets of a version, the derivation rule,
attainment (actual vs target, pace, gap, projection) and leaderboards.

**Which target.** ``target_of`` reads the latest *locked* (approved) version of the plan of
the period's fiscal year; a draft or a version under approval never counts. ``None`` when the
year has no locked version or nothing can be derived.

**Derivation** (a target asked at a level where none is stored), in this order:

1. stored for (node, period) → that value;
2. *down*: the period's child periods (year → quarters → months → weeks) all have a value
   (stored or, recursively, by this rule 2) → their sum;
3. *up*: the nearest ancestor period with a value for the node (rules 1–2) is allocated down
   level by level with the version's seasonality (node's own weights, else the company's,
   else days) and weeks by their days, largest remainder — exactly the share a top-down
   allocation would have stored;
4. *org roll-up*: every child node (child teams, or the reps of a leaf team; top-level teams
   of the company) has a value (rules 1–4) → their sum;
5. otherwise ``None``.

**Actuals** come from the metrics registry (``analytics``), people counted with the team
they belonged to at the time. ``units:<code>`` (units of a product line) is computed here:
the quantity of the won deal lines of products of that line, on the deal's close date.
``attainments`` answers many nodes with one facts query (the union of the nodes' owner
windows, attributed in Python) and one targets query: constant queries for any number of
nodes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.analytics.selectors import Node, nodes_visible_to
from salesflow.billing.permissions import sees_no_money
from salesflow.catalogue.models import OpportunityLine, ProductCategory
from salesflow.core.metrics import FactQuery, FactRow, Facts, MetricFilters, OwnerWindow, all_metrics, get_metric
from salesflow.core.periods import (
    Period,
    children,
    elapsed_fraction,
    fiscal_year_of,
    month_period,
    parse_period,
    period_containing,
    year_period,
)
from salesflow.sales.choices import Outcome
from salesflow.targets.allocation import COUNT_PLACES, MONEY_PLACES, period_weights, split
from salesflow.targets.models import PlanVersion, SalesPlan, Target, VersionStatus
from salesflow.users.choices import Role
from salesflow.users.models import Team, User
from salesflow.users.selectors import TeamHistory, team_history

UNITS_PREFIX = "units:"
RATIO_PLACES = Decimal("0.0001")
CENT = Decimal("0.01")


# --- metrics a plan may set ----------------------------------------------------------------


@dataclass(frozen=True)
class PlanMetric:
    key: str
    label: str
    unit: str  # "money" | "count"

    @property
    def places(self) -> int:
        return MONEY_PLACES if self.unit == "money" else COUNT_PLACES


def plan_metrics() -> list[PlanMetric]:
    """The plannable metrics of the registry, then units of each active product line."""
    found = [PlanMetric(m.key, str(m.label), m.unit) for m in all_metrics(plannable=True)]
    for cat in ProductCategory.objects.filter(active=True).order_by("code"):
        found.append(PlanMetric(f"{UNITS_PREFIX}{cat.code}", _("Units: %(line)s") % {"line": cat}, "count"))
    return found


def plan_metric(key: str) -> PlanMetric | None:
    """The plan metric ``key`` (``None`` when unknown or not plannable)."""
    if key.startswith(UNITS_PREFIX):
        cat = ProductCategory.objects.filter(code=key[len(UNITS_PREFIX) :]).first()
        return PlanMetric(key, _("Units: %(line)s") % {"line": cat}, "count") if cat else None
    try:
        m = get_metric(key)
    except KeyError:
        return None
    return PlanMetric(m.key, str(m.label), m.unit) if m.plannable else None


def _units_facts(code: str, query: FactQuery) -> Facts:
    qs = (
        OpportunityLine.objects.filter(
            query.owner_day_q("opportunity__owner_id", "opportunity__closed_on"),
            product__category__code=code,
            opportunity__outcome=Outcome.WON,
            opportunity__closed_on__isnull=False,
        )
        .values("opportunity__owner_id", "opportunity__closed_on")
        .annotate(qty=Sum("quantity"))
        .order_by()
    )
    if query.filters.pipeline_ids:
        qs = qs.filter(opportunity__pipeline_id__in=query.filters.pipeline_ids)
    if query.filters.region_ids:
        qs = qs.filter(opportunity__account__region_id__in=query.filters.region_ids)
    if query.filters.sources:
        qs = qs.filter(opportunity__account__source__in=query.filters.sources)
    rows = [FactRow(r["opportunity__owner_id"], r["opportunity__closed_on"], Decimal(r["qty"] or 0), 1) for r in qs]
    return Facts(rows=sorted(rows, key=lambda r: (r.owner_id, r.day)))


def metric_facts(metric_key: str, query: FactQuery) -> Facts:
    if metric_key.startswith(UNITS_PREFIX):
        return _units_facts(metric_key[len(UNITS_PREFIX) :], query)
    return get_metric(metric_key).facts(query)


# --- the organisation tree -----------------------------------------------------------------


class OrgTree:
    """Teams and reps in two queries: node children and team subtrees."""

    def __init__(self) -> None:
        self.teams: dict[int, Team] = {t.pk: t for t in Team.objects.all()}
        self.kids: dict[int | None, list[int]] = defaultdict(list)
        for t in sorted(self.teams.values(), key=lambda t: (t.name, t.pk)):
            self.kids[t.parent_id].append(t.pk)
        self.reps: dict[int, list[User]] = defaultdict(list)
        for u in User.objects.filter(is_active=True, role=Role.REP, team__isnull=False).order_by(
            "display_name", "username"
        ):
            assert u.team_id is not None
            self.reps[u.team_id].append(u)

    def children(self, node: Node) -> list[Node]:
        """Company → top-level teams; a team → its child teams, or the current reps of a leaf
        team (assistants excluded); a rep → none."""
        if node.kind == "company":
            return [Node("team", pk, self.teams[pk].name) for pk in self.kids[None]]
        if node.kind == "team":
            assert node.id is not None
            if self.kids.get(node.id):
                return [Node("team", pk, self.teams[pk].name) for pk in self.kids[node.id]]
            return [Node("rep", u.pk, str(u)) for u in self.reps.get(node.id, [])]
        return []

    def subtree(self, team_id: int) -> set[int]:
        found, frontier = {team_id}, [team_id]
        while frontier:
            frontier = [k for t in frontier for k in self.kids.get(t, []) if k not in found]
            found.update(frontier)
        return found

    def node(self, key: str) -> Node | None:
        if key == "company":
            return Node("company")
        kind, _sep, pk = key.partition(":")
        if kind == "team" and pk.isdigit() and int(pk) in self.teams:
            return Node("team", int(pk), self.teams[int(pk)].name)
        if kind == "rep" and pk.isdigit():
            for reps in self.reps.values():
                for u in reps:
                    if u.pk == int(pk):
                        return Node("rep", u.pk, str(u))
        return None


def parent_period(period: Period) -> Period | None:
    if period.kind == "week":
        return month_period(period.start.year, period.start.month)
    if period.kind == "month":
        return period_containing("quarter", period.start)
    if period.kind == "quarter":
        return year_period(fiscal_year_of(period.start))
    return None


# --- targets of a version ------------------------------------------------------------------


class TargetBook:
    """The stored targets of one version and metric, and the derivation rule (module doc)."""

    def __init__(
        self,
        version: PlanVersion | None,
        metric_key: str,
        rows: dict[tuple[str, str], Decimal],
        places: int,
        org: OrgTree | None = None,
    ) -> None:
        self.version = version
        self.metric_key = metric_key
        self.rows = rows
        self.places = places
        self._org = org
        self._memo: dict[tuple[str, str], Decimal | None] = {}

    @classmethod
    def load(cls, version: PlanVersion | None, metric_key: str, org: OrgTree | None = None) -> TargetBook:
        metric = plan_metric(metric_key)
        places = metric.places if metric else MONEY_PLACES
        rows: dict[tuple[str, str], Decimal] = {}
        if version is not None:
            for node_key, period_key, value in Target.objects.filter(
                version=version, metric_key=metric_key
            ).values_list("node_key", "period_key", "value"):
                rows[(node_key, period_key)] = value
        return cls(version, metric_key, rows, places, org)

    @property
    def org(self) -> OrgTree:
        if self._org is None:
            self._org = OrgTree()
        return self._org

    def stored(self, node_key: str, period: Period) -> Decimal | None:
        return self.rows.get((node_key, period.key))

    def seasonality(self, node_key: str) -> list[int] | None:
        if self.version is None:
            return None
        weights = self.version.seasonality or {}
        found = weights.get(node_key) or weights.get("company")
        return [int(w) for w in found] if isinstance(found, list) and len(found) == 12 else None

    def down(self, node_key: str, period: Period) -> Decimal | None:
        """Rules 1–2: stored, or the sum of the child periods when all have a value."""
        value = self.stored(node_key, period)
        if value is not None:
            return value
        kids = children(period)
        if not kids:
            return None
        total = Decimal(0)
        for kid in kids:
            v = self.down(node_key, kid)
            if v is None:
                return None
            total += v
        return total

    def up(self, node_key: str, period: Period) -> Decimal | None:
        """Rule 3: the nearest ancestor period's value allocated down to ``period``."""
        chain = [period]
        ancestor = parent_period(period)
        while ancestor is not None:
            value = self.down(node_key, ancestor)
            if value is not None:
                for step, nxt in zip([ancestor, *reversed(chain[1:])], list(reversed(chain)), strict=True):
                    kids = children(step)
                    shares = split(value, period_weights(step, self.seasonality(node_key)), self.places)
                    value = shares[[k.key for k in kids].index(nxt.key)]
                return value
            chain.append(ancestor)
            ancestor = parent_period(ancestor)
        return None

    def value(self, node: Node, period: Period) -> Decimal | None:
        """The target of ``node`` in ``period`` by the derivation rule (``None`` when none)."""
        memo_key = (node.key, period.key)
        if memo_key in self._memo:
            return self._memo[memo_key]
        self._memo[memo_key] = None  # guards against a cyclic team tree
        value = self.down(node.key, period)
        if value is None:
            value = self.up(node.key, period)
        if value is None and self.rows:
            kids = self.org.children(node)
            if kids:
                total = Decimal(0)
                for kid in kids:
                    v = self.value(kid, period)
                    if v is None:
                        total = None  # type: ignore[assignment]
                        break
                    total += v
                value = total
        self._memo[memo_key] = value
        return value

    def rollup(self, node: Node, period: Period) -> Decimal | None:
        """Bottom-up: the sum of the child nodes' targets (``None`` when a child has none or
        the node has no children)."""
        kids = self.org.children(node)
        if not kids:
            return None
        total = Decimal(0)
        for kid in kids:
            v = self.value(kid, period)
            if v is None:
                return None
            total += v
        return total


def latest_locked_version(year: int) -> PlanVersion | None:
    return (
        PlanVersion.objects.filter(plan__year=year, status=VersionStatus.LOCKED)
        .select_related("plan")
        .order_by("-number")
        .first()
    )


def target_book(metric_key: str, period: Period, org: OrgTree | None = None) -> TargetBook:
    """The targets of the latest locked version of ``period``'s fiscal year for ``metric_key``."""
    return TargetBook.load(latest_locked_version(fiscal_year_of(period.start)), metric_key, org)


# --- attainment ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attainment:
    metric_key: str
    node_key: str
    period_key: str
    target: Decimal | None  # from the plan's latest approved (locked) version; None when none
    actual: Decimal  # analytics.selectors actuals (team at the time)
    ratio: Decimal | None  # actual / target, None without a positive target
    expected: Decimal | None  # pace: target × core.periods.elapsed_fraction(period, today)
    gap: Decimal | None  # max(target − actual, 0)
    projection: Decimal  # actual ÷ elapsed fraction (the actual once the period is over; 0 before it starts)
    missing_rates: frozenset[str]


def target_of(*, node: Node, metric_key: str, period: Period) -> Decimal | None:
    """The target of ``node`` for ``metric_key`` in ``period`` (derivation rule: module doc)."""
    return target_book(metric_key, period).value(node, period)


def _windows(node: Node, start: date, end: date, org: OrgTree, history: TeamHistory) -> tuple[OwnerWindow, ...] | None:
    """Like ``analytics.selectors.node_windows``, with the team tree already loaded."""
    if node.kind == "company":
        return None
    assert node.id is not None
    if node.kind == "rep":
        return (OwnerWindow(node.id, start, end),)
    subtree = org.subtree(node.id)
    windows: list[OwnerWindow] = []
    for user_id, intervals in history.rows.items():
        for i, (s, e, team_id) in enumerate(intervals):
            if team_id not in subtree:
                continue
            lo = date.min if i == 0 else s
            hi = date.fromordinal(e.toordinal() - 1) if e is not None else date.max
            a, b = max(lo, start), min(hi, end)
            if a <= b:
                windows.append(OwnerWindow(user_id, a, b))
    return tuple(windows)


def actuals_for_nodes(
    nodes: Sequence[Node],
    metric_key: str,
    period: Period,
    filters: MetricFilters | None = None,
    org: OrgTree | None = None,
) -> tuple[dict[str, Decimal], frozenset[str]]:
    """The metric's actual per node key over ``period``, from ONE facts query."""
    org = org or OrgTree()
    need_history = any(n.kind == "team" for n in nodes)
    history = team_history() if need_history else TeamHistory(starts={}, rows={})
    per_node = {n.key: _windows(n, period.start, period.end, org, history) for n in nodes}
    result = {n.key: Decimal(0) for n in nodes}
    if not nodes:
        return result, frozenset()
    union: tuple[OwnerWindow, ...] | None
    if any(w is None for w in per_node.values()):
        union = None
    else:
        union = tuple(sorted({w for ws in per_node.values() for w in (ws or ())}, key=lambda w: (w.owner_id, w.start)))
    # days matter only when some owner counts for part of the period (a team change)
    whole = all(w.start == period.start and w.end == period.end for ws in per_node.values() for w in ws or ())
    facts = metric_facts(
        metric_key,
        FactQuery(
            start=period.start, end=period.end, windows=union, filters=filters or MetricFilters(), per_day=not whole
        ),
    )
    index: dict[str, dict[int, list[tuple[date, date]]] | None] = {}
    for key, ws in per_node.items():
        if ws is None:
            index[key] = None
        else:
            owners: dict[int, list[tuple[date, date]]] = defaultdict(list)
            for w in ws:
                owners[w.owner_id].append((w.start, w.end))
            index[key] = owners
    for row in facts.rows:
        for key, by_owner in index.items():
            if by_owner is None or any(s <= row.day <= e for s, e in by_owner.get(row.owner_id, ())):
                result[key] += row.value
    return result, frozenset(facts.missing_rates)


def _build(
    metric_key: str,
    node: Node,
    period: Period,
    target: Decimal | None,
    actual: Decimal,
    today: date,
    missing: frozenset[str],
) -> Attainment:
    fraction = elapsed_fraction(period, today)
    ratio = (actual / target).quantize(RATIO_PLACES, ROUND_HALF_UP) if target is not None and target > 0 else None
    expected = (target * fraction).quantize(CENT, ROUND_HALF_UP) if target is not None else None
    gap = max(target - actual, Decimal(0)) if target is not None else None
    if fraction == 0:
        projection = Decimal(0)
    elif fraction == 1:
        projection = actual
    else:
        projection = (actual / fraction).quantize(CENT, ROUND_HALF_UP)
    return Attainment(
        metric_key=metric_key,
        node_key=node.key,
        period_key=period.key,
        target=target,
        actual=actual,
        ratio=ratio,
        expected=expected,
        gap=gap,
        projection=projection,
        missing_rates=missing,
    )


def attainment(
    *,
    node: Node,
    metric_key: str,
    period: Period,
    today: date | None = None,
    filters: MetricFilters | None = None,
    org: OrgTree | None = None,
) -> Attainment:
    """Actual vs target of one node (see ``attainments``); ``org`` when the caller has the tree."""
    org = org or OrgTree()
    book = target_book(metric_key, period, org)
    values, missing = actuals_for_nodes([node], metric_key, period, filters, org)
    return _build(
        metric_key, node, period, book.value(node, period), values[node.key], today or timezone.localdate(), missing
    )


def attainments(
    *,
    nodes: Sequence[Node],
    metric_key: str,
    period: Period,
    today: date | None = None,
    filters: MetricFilters | None = None,
) -> list[Attainment]:
    """Actual vs target of each node, in the order given; constant queries for any number of nodes."""
    org = OrgTree()
    book = target_book(metric_key, period, org)
    values, missing = actuals_for_nodes(nodes, metric_key, period, filters, org)
    day = today or timezone.localdate()
    return [_build(metric_key, n, period, book.value(n, period), values[n.key], day, missing) for n in nodes]


def plan_for_year(year: int) -> SalesPlan | None:
    return SalesPlan.objects.filter(year=year).first()


# --- pages and API ---------------------------------------------------------------------------


def plans_for(user: User) -> QuerySet[SalesPlan]:
    """Every signed-in user reads the plan list and notes; targets are narrowed by node."""
    return SalesPlan.objects.prefetch_related(
        Prefetch("versions", queryset=PlanVersion.objects.select_related("plan").order_by("-number"))
    ).order_by("-year")


def version_for_user(user: User, version_id: int) -> PlanVersion:
    version = PlanVersion.objects.select_related("plan").filter(pk=version_id).first()
    if version is None:
        raise Http404("version not found")
    return version


def node_from_key(key: str, org: OrgTree) -> Node:
    found = org.node(key)
    if found is not None:
        return found
    kind, _sep, pk = key.partition(":")
    if kind in ("team", "rep") and pk.isdigit():
        return Node(kind, int(pk), "")  # type: ignore[arg-type]
    return Node("company")


def version_targets(user: User, version: PlanVersion, metric_key: str) -> list[dict[str, Any]]:
    """The stored targets of ``version`` for the nodes ``user`` may see, each with the roll-up
    of its child nodes and whether it differs from the node's own (top-down) target."""
    org = OrgTree()
    book = TargetBook.load(version, metric_key, org)
    visible = {n.key for n in nodes_visible_to(user)}
    out: list[dict[str, Any]] = []
    for (node_key, period_key), value in sorted(book.rows.items()):
        if node_key not in visible:
            continue
        rollup = book.rollup(node_from_key(node_key, org), parse_period(period_key))
        out.append(
            {
                "metric": metric_key,
                "node": node_key,
                "period": period_key,
                "value": str(value),
                "rollup": None if rollup is None else str(rollup),
                "differs": rollup is not None and rollup != value,
            }
        )
    return out


def _attainment_out(a: Attainment, label: str) -> dict[str, Any]:
    def s(v: Decimal | None) -> str | None:
        return None if v is None else str(v)

    return {
        "metric": a.metric_key,
        "node": a.node_key,
        "node_label": label,
        "period": a.period_key,
        "target": s(a.target),
        "actual": str(a.actual),
        "ratio": s(a.ratio),
        "expected": s(a.expected),
        "gap": s(a.gap),
        "projection": str(a.projection),
        "missing_rates": sorted(a.missing_rates),
    }


#: the amounts of an attainment or leaderboard row (counts and ratios stay)
MONEY_KEYS = ("target", "actual", "expected", "gap", "projection")


def without_money(user: User, rows: list[dict[str, Any]], metric_key: str | None = None) -> list[dict[str, Any]]:
    """``rows`` as ``user`` may see them: for a reader who sees no money (support; the billing
    money rule ``billing.permissions.sees_no_money``) the amounts of money metrics are
    ``None`` (each row's ``metric``, else ``metric_key``); counts and ratios stay."""
    if not sees_no_money(user):
        return rows
    money = {m.key for m in plan_metrics() if m.unit == "money"}
    return [
        {**row, **{k: None for k in MONEY_KEYS if k in row}} if row.get("metric", metric_key) in money else row
        for row in rows
    ]


def visible_children(user: User, node: Node, org: OrgTree) -> list[Node]:
    visible = {n.key for n in nodes_visible_to(user)}
    return [n for n in org.children(node) if n.key in visible]


def attainment_page(user: User, analysis: Any, metric_key: str, today: date | None = None) -> dict[str, Any]:
    """The attainment of ``analysis.node`` for every plan metric, and of each visible child
    node for ``metric_key``."""
    node, period = analysis.node, analysis.period
    org = OrgTree()  # once for every metric (two queries each time)
    metrics = [
        _attainment_out(
            attainment(node=node, metric_key=m.key, period=period, today=today, filters=analysis.filters, org=org),
            node.label,
        )
        for m in plan_metrics()
    ]
    kids = visible_children(user, node, org)
    found = attainments(nodes=kids, metric_key=metric_key, period=period, today=today, filters=analysis.filters)
    return {
        "node": node.key,
        "period": period.key,
        "metrics": without_money(user, metrics),
        "children": without_money(user, [_attainment_out(a, n.label) for a, n in zip(found, kids, strict=True)]),
    }


def leaderboard_team(user: User, raw: str) -> Team:
    """The team whose board ``user`` asks for: by id when visible (their own team always),
    else their own team (a manager without one: the first team they manage)."""
    from salesflow.analytics.selectors import visible_team_ids

    allowed = visible_team_ids(user)
    raw = (raw or "").strip()
    if raw:
        if not raw.isdigit() or len(raw) > 12:
            raise Http404("team")
        team_id = int(raw)
        if allowed is not None and team_id not in allowed and team_id != user.team_id:
            raise Http404("team")
    elif user.team_id is not None:
        team_id = user.team_id
    elif allowed is None or allowed:
        first = Team.objects.filter(**({} if allowed is None else {"pk__in": allowed})).order_by("name", "pk").first()
        if first is None:
            raise Http404("team")
        team_id = first.pk
    else:
        raise Http404("team")
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise Http404("team")
    return team


def leaderboard(team: Team, metric_key: str, period: Period, today: date | None = None) -> list[dict[str, Any]]:
    """The current reps of ``team`` (and the teams below it) ranked by attainment ratio, then
    actual; reps without a target last. Ranks are shared on equal ratio and actual."""
    org = OrgTree()
    subtree = org.subtree(team.pk)
    reps = [Node("rep", u.pk, str(u)) for t in sorted(subtree) for u in org.reps.get(t, [])]
    found = attainments(nodes=reps, metric_key=metric_key, period=period, today=today)
    pairs = sorted(
        zip(found, reps, strict=True),
        key=lambda p: (p[0].ratio is None, -(p[0].ratio or 0), -p[0].actual, p[1].label),
    )
    rows: list[dict[str, Any]] = []
    previous: tuple[Decimal | None, Decimal] | None = None
    for i, (a, n) in enumerate(pairs, start=1):
        key = (a.ratio, a.actual)
        rank = rows[-1]["rank"] if previous == key and rows else i
        previous = key
        assert n.id is not None
        rows.append(
            {
                "rank": rank,
                "user_id": n.id,
                "name": n.label,
                "target": None if a.target is None else str(a.target),
                "actual": str(a.actual),
                "ratio": None if a.ratio is None else str(a.ratio),
            }
        )
    return rows


# --- the decomposition grid --------------------------------------------------------------------


@dataclass
class GridCell:
    period: Period
    stored: Decimal | None
    value: Decimal | None  # stored or derived
    rollup: Decimal | None
    differs: bool


@dataclass
class GridRow:
    node: Node
    depth: int
    cells: list[GridCell]


def tree_nodes(user: User, org: OrgTree) -> list[tuple[Node, int]]:
    """The nodes ``user`` may see in tree order (company, teams depth-first, reps), with depth;
    visible nodes whose parent is hidden start a new root."""
    visible = {n.key for n in nodes_visible_to(user)}
    out: list[tuple[Node, int]] = []
    seen: set[str] = set()

    def walk(node: Node, depth: int) -> None:
        if node.key in seen:
            return
        seen.add(node.key)
        shown = node.key in visible
        if shown:
            out.append((node, depth))
        for kid in org.children(node):
            walk(kid, depth + 1 if shown else depth)

    walk(Node("company"), 0)
    return out


def grid_periods(year: int, columns: str) -> list[Period]:
    """The grid's columns: the year, then its quarters (``quarters``) or months (``months``)."""
    y = year_period(year)
    quarters = children(y)
    if columns == "months":
        return [y, *[m for q in quarters for m in children(q)]]
    return [y, *quarters]


def plan_grid(user: User, version: PlanVersion, metric_key: str, columns: str) -> list[GridRow]:
    """Rows of node × period for the version and metric (2 + 3 queries, whatever the size)."""
    org = OrgTree()
    book = TargetBook.load(version, metric_key, org)
    periods = grid_periods(version.plan.year, columns)
    rows: list[GridRow] = []
    for node, depth in tree_nodes(user, org):
        cells = []
        for p in periods:
            value = book.value(node, p)
            rollup = book.rollup(node, p)
            cells.append(
                GridCell(
                    p,
                    book.stored(node.key, p),
                    value,
                    rollup,
                    rollup is not None and value is not None and rollup != value,
                )
            )
        rows.append(GridRow(node, depth, cells))
    return rows
