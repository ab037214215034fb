"""Reads of forecast submissions (销售预测): the figures the deals suggest, the roll-up of a
level of the hierarchy, the history, the accuracy of past forecasts and the pipeline waterfall
("what changed since last week").

Who may read a level is ``analytics.selectors.node_for_user`` (the caller checks; unseen →
404). Every function here answers from a constant number of queries, whatever the number of
people or deals: grouped aggregates for the deal figures, one query for a period's entries,
one grouped query for the actuals of the accuracy, and three for the waterfall. The work in
Python does not grow with the deals either: the accuracy reads a few rows per owner and the
waterfall one row per deal that changed (issue 11: the administrator's pages at bench scale
1.0 read every deal and every owner-day and took 2–3 s).

**The pre-fill rule** (:func:`suggested_by_owner`), in the company currency at today's rates:

* commit = revenue won in the period (``closed_on`` in it) + open deals in the forecast
  category *commit* whose expected close date lies in the period;
* best case = commit + open *best case* deals closing in the period;
* pipeline = best case + open *pipeline* deals closing in the period.

*Omitted* deals never count. Deals in a currency without a rate are left out and named.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, Count, DateField, F, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from salesflow.analytics.selectors import Node, node_windows, parse_node_key
from salesflow.core.metrics import FactQuery, get_metric
from salesflow.core.money import (
    STORAGE_PLACES,
    MoneyField,
    company_currency,
    minor_units,
    money_sum_annotations,
    money_sum_value,
)
from salesflow.core.periods import Period, parse_period, period_containing
from salesflow.core.selectors import RateBook
from salesflow.forecasts.models import ForecastEntry, ForecastReminder
from salesflow.sales.choices import ForecastCategory, HistoryField, Outcome
from salesflow.sales.models import Opportunity, OpportunityFieldChange
from salesflow.users.choices import Role
from salesflow.users.models import Team, User
from salesflow.users.permissions import is_system_actor, managed_team_ids
from salesflow.users.selectors import TeamHistory, team_history

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
SELLING_ROLES = (Role.REP, Role.MANAGER)
FORECAST_PERIOD_KINDS = ("month", "quarter")


def company_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    """00:00 of ``day`` in the company time zone."""
    return datetime.combine(day, time.min, company_zone())


def forecast_period(key: str) -> Period:
    """The month or quarter ``key``; ``ValueError`` for anything else (years, weeks, junk)."""
    period = parse_period(key)
    if period.kind not in FORECAST_PERIOD_KINDS:
        raise ValueError("period")
    return period


def default_period(today: date) -> Period:
    return period_containing("month", today)


def submission_due(period: Period) -> date:
    """The day a month's or quarter's forecast is due: its ``SALESFLOW_FORECAST_DUE_DAY``-th
    day (default the 5th; clipped to the period)."""
    day = int(getattr(settings, "SALESFLOW_FORECAST_DUE_DAY", 5))
    return min(period.start + timedelta(days=max(day, 1) - 1), period.end)


def remind_days() -> int:
    """Reminders go out this many days before the due day (``SALESFLOW_FORECAST_REMIND_DAYS``,
    default 3), and on it."""
    return max(int(getattr(settings, "SALESFLOW_FORECAST_REMIND_DAYS", 3)), 0)


def due_reminders(today: date) -> list[tuple[User, Period, date]]:
    """``(person, period, due day)`` of every forecast to remind of on ``today``: this month
    and this quarter when ``today`` lies in the reminder window before their due day, for each
    active person who sells and has neither submitted for the period nor been reminded of it.
    Three queries however many people."""
    windows = []
    for kind in FORECAST_PERIOD_KINDS:
        period = period_containing(kind, today)  # type: ignore[arg-type]
        due = submission_due(period)
        if due - timedelta(days=remind_days()) <= today <= due:
            windows.append((period, due))
    if not windows:
        return []
    keys = [p.key for p, _due in windows]
    people = list(User.objects.filter(is_active=True, role__in=SELLING_ROLES).order_by("pk"))
    submitted = set(
        ForecastEntry.objects.filter(period_key__in=keys, node_key__startswith="rep:").values_list(
            "node_key", "period_key"
        )
    )
    reminded = set(ForecastReminder.objects.filter(period_key__in=keys).values_list("user_id", "period_key"))
    return [
        (user, period, due)
        for period, due in windows
        for user in people
        if (f"rep:{user.pk}", period.key) not in submitted and (user.pk, period.key) not in reminded
    ]


# ----------------------------------------------------------------------------- figures


@dataclass
class Figures:
    """Commit, best case and pipeline in the company currency (exact)."""

    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    pipeline: Decimal = ZERO

    def add(self, other: Figures) -> None:
        self.commit += other.commit
        self.best_case += other.best_case
        self.pipeline += other.pipeline

    @classmethod
    def of(cls, entry: ForecastEntry | None) -> Figures:
        if entry is None:
            return cls()
        return cls(entry.commit, entry.best_case, entry.pipeline)

    def as_tuple(self) -> tuple[Decimal, Decimal, Decimal]:
        return (self.commit, self.best_case, self.pipeline)


@dataclass
class Suggestion:
    """What the deals suggest per owner (``by_owner``) and in total, and the currencies left out."""

    by_owner: dict[int, Figures] = field(default_factory=dict)
    total: Figures = field(default_factory=Figures)
    missing_rates: set[str] = field(default_factory=set)

    def of(self, owner_id: int) -> Figures:
        return self.by_owner.get(owner_id, Figures())


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def suggested_by_owner(owner_ids: Iterable[int] | None, period: Period, today: date) -> Suggestion:
    """The pre-fill figures (rule in the module docstring) per owner, from two grouped
    aggregates (won deals by owner and currency; open deals by owner, category and currency)
    and one rate query; ``owner_ids=None`` means every owner."""
    won = Opportunity.objects.filter(outcome=Outcome.WON, closed_on__gte=period.start, closed_on__lte=period.end)
    open_ = Opportunity.objects.filter(
        outcome=Outcome.OPEN,
        expected_close_date__gte=period.start,
        expected_close_date__lte=period.end,
        forecast_category__in=[ForecastCategory.COMMIT, ForecastCategory.BEST_CASE, ForecastCategory.PIPELINE],
    )
    if owner_ids is not None:
        ids = sorted(set(owner_ids))
        won, open_ = won.filter(owner_id__in=ids), open_.filter(owner_id__in=ids)
    won_rows = list(won.values("owner_id", "currency").annotate(**money_sum_annotations("s", "amount")).order_by())
    open_rows = list(
        open_.values("owner_id", "forecast_category", "currency")
        .annotate(**money_sum_annotations("s", "amount"))
        .order_by()
    )
    book = RateBook({r["currency"] for r in won_rows + open_rows}, today)
    result = Suggestion()
    # per owner: won, commit, best case and pipeline category amounts
    parts: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for rows, category_of in ((won_rows, lambda r: "won"), (open_rows, lambda r: r["forecast_category"])):
        for r in rows:
            value = book.convert(money_sum_value(r, "s"), r["currency"], today)
            if value is None:
                result.missing_rates.add(r["currency"])
                continue
            parts[r["owner_id"]][category_of(r)] += _money(value)
    for owner_id, p in parts.items():
        commit = p["won"] + p[ForecastCategory.COMMIT]
        best = commit + p[ForecastCategory.BEST_CASE]
        figures = Figures(commit, best, best + p[ForecastCategory.PIPELINE])
        result.by_owner[owner_id] = figures
        result.total.add(figures)
    return result


# ----------------------------------------------------------------------------- hierarchy


@dataclass
class Tree:
    """The teams and the people who sell, loaded once (two queries)."""

    teams: dict[int, Team]
    children: dict[int | None, list[int]]  # parent team id (None: top) → child team ids
    people: dict[int, User]  # active reps and managers
    members: dict[int | None, list[int]]  # team id (None: no team) → people ids

    def subtree(self, team_id: int) -> set[int]:
        seen: set[int] = set()
        stack = [team_id]
        while stack:
            t = stack.pop()
            if t in seen:
                continue
            seen.add(t)
            stack.extend(self.children.get(t, []))
        return seen

    def people_under(self, node: Node) -> list[int]:
        if node.kind == "rep":
            assert node.id is not None
            return [node.id]
        if node.kind == "company":
            return sorted(self.people)
        assert node.id is not None
        return sorted(p for t in self.subtree(node.id) for p in self.members.get(t, []))


def load_tree() -> Tree:
    teams = {t.pk: t for t in Team.objects.order_by("name", "pk")}
    children: dict[int | None, list[int]] = defaultdict(list)
    for t in teams.values():
        parent = t.parent_id if t.parent_id in teams else None
        children[parent].append(t.pk)
    people = {
        u.pk: u
        for u in User.objects.filter(is_active=True, role__in=SELLING_ROLES).order_by("display_name", "username", "pk")
    }
    members: dict[int | None, list[int]] = defaultdict(list)
    for u in people.values():
        members[u.team_id if u.team_id in teams else None].append(u.pk)
    return Tree(teams, dict(children), people, dict(members))


def latest_entries(entries: Iterable[ForecastEntry]) -> dict[str, ForecastEntry]:
    """The entry with the highest revision per node key."""
    latest: dict[str, ForecastEntry] = {}
    for e in entries:
        cur = latest.get(e.node_key)
        if cur is None or e.revision > cur.revision:
            latest[e.node_key] = e
    return latest


@dataclass
class Level:
    """One row of a roll-up: a person (their latest submission) or a team (its latest
    adjustment, the sum of its people's latest submissions, and the sum of the level below's
    figures: each person's submission and each child team's adjusted figure — or, where a team
    has no adjustment, its own sum of the level below)."""

    node: Node
    entry: ForecastEntry | None
    submitted: Figures
    below: Figures
    people: int
    submitted_people: int
    suggested: Figures | None = None

    @property
    def figure(self) -> Figures:
        """The level's forecast: its own latest entry, else the sum of the level below."""
        return Figures.of(self.entry) if self.entry is not None else self.below

    @property
    def source(self) -> Literal["own", "below"]:
        return "own" if self.entry is not None else "below"


def _levels(tree: Tree, latest: dict[str, ForecastEntry]) -> dict[str, Level]:
    """Every node's :class:`Level` computed bottom-up from the latest entries."""
    out: dict[str, Level] = {}
    for pk, person in tree.people.items():
        e = latest.get(f"rep:{pk}")
        f = Figures.of(e)
        out[f"rep:{pk}"] = Level(Node("rep", pk, str(person)), e, f, f, 1, 1 if e else 0)

    def team_level(team_id: int) -> Level:
        key = f"team:{team_id}"
        if key in out:
            return out[key]
        submitted, below = Figures(), Figures()
        people = submitted_people = 0
        for pk in tree.members.get(team_id, []):
            lv = out[f"rep:{pk}"]
            submitted.add(lv.submitted)
            below.add(lv.figure)
            people += 1
            submitted_people += lv.submitted_people
        out[key] = Level(Node("team", team_id, tree.teams[team_id].name), None, submitted, below, 0, 0)  # cycle guard
        for child in tree.children.get(team_id, []):
            lv = team_level(child)
            submitted.add(lv.submitted)
            below.add(lv.figure)
            people += lv.people
            submitted_people += lv.submitted_people
        level = Level(
            Node("team", team_id, tree.teams[team_id].name), latest.get(key), submitted, below, people, submitted_people
        )
        out[key] = level
        return level

    for team_id in tree.teams:
        team_level(team_id)
    submitted, below = Figures(), Figures()
    people = submitted_people = 0
    for child_key in _child_keys(tree, Node("company")):
        lv = out[child_key]
        submitted.add(lv.submitted)
        below.add(lv.figure)
        people += lv.people
        submitted_people += lv.submitted_people
    out["company"] = Level(Node("company"), latest.get("company"), submitted, below, people, submitted_people)
    return out


def _child_keys(tree: Tree, node: Node) -> list[str]:
    """The level directly below ``node``: its people, then its child teams (company: the
    people without a team, then the top-level teams)."""
    if node.kind == "rep":
        return []
    team_id = node.id if node.kind == "team" else None
    return [f"rep:{pk}" for pk in tree.members.get(team_id, [])] + [f"team:{t}" for t in tree.children.get(team_id, [])]


@dataclass
class Rollup:
    """A level and the level below it for one period."""

    node: Node
    period: Period
    level: Level
    rows: list[Level]
    suggestion: Suggestion


def rollup(node: Node, period: Period, today: date) -> Rollup:
    """The roll-up grid of ``node`` (already checked for the reader) for ``period``: the level
    (own adjusted figure, sum of its people's submissions, sum of the level below) and one row
    per person and child team directly below, with what each person's deals suggest. Current
    team membership. Constant query count: teams, people, the period's entries, two deal
    aggregates and the rates."""
    tree = load_tree()
    latest = latest_entries(ForecastEntry.objects.filter(period_key=period.key).select_related("author"))
    levels = _levels(tree, latest)
    level = levels.get(node.key)
    if level is None:  # a person outside the tree (inactive, support, assistant) or a new team
        e = latest.get(node.key)
        level = Level(node, e, Figures.of(e), Figures.of(e), 1 if node.kind == "rep" else 0, 1 if e else 0)
    rows = [levels[k] for k in _child_keys(tree, node) if k in levels]
    owners = None if node.kind == "company" else tree.people_under(node)
    suggestion = suggested_by_owner(owners, period, today)
    for row in rows:
        if row.node.kind == "rep":
            assert row.node.id is not None
            row.suggested = suggestion.of(row.node.id)
    return Rollup(node, period, level, rows, suggestion)


def history(node: Node, period: Period, *, limit: int = 100) -> list[ForecastEntry]:
    """The entries of ``node`` and of the level directly below it for ``period``, newest first
    (one query for the tree's keys, one for the entries)."""
    keys = [node.key]
    if node.kind != "rep":
        tree = load_tree()
        keys += _child_keys(tree, node)
    return list(
        ForecastEntry.objects.filter(period_key=period.key, node_key__in=keys)
        .select_related("author")
        .order_by("-created_at", "-id")[:limit]
    )


def entry_node_label(entry: ForecastEntry, tree: Tree) -> str:
    kind, pk = parse_node_key(entry.node_key)
    if kind == "company":
        return str(_("Whole company"))
    if kind == "team" and pk in tree.teams:
        return tree.teams[pk].name
    if kind == "rep" and pk in tree.people:
        return str(tree.people[pk])
    return entry.node_key


# ----------------------------------------------------------------------------- who writes


def can_submit_for(actor: User, rep: User) -> bool:
    """A person submits their own forecast; an assistant for the reps delegated to them
    (the product's delegation: an assistant works on the delegated reps' behalf)."""
    if not actor.is_authenticated or not actor.is_active or is_system_actor(actor):
        return False
    if actor.pk == rep.pk:
        return actor.role in SELLING_ROLES
    if actor.role == Role.ASSISTANT and not actor.is_admin:
        return actor.delegated_reps.filter(pk=rep.pk).exists()
    return False


def can_adjust(actor: User, node: Node) -> bool:
    """A manager adjusts the teams they manage (with the teams below them); an administrator
    every team and the company. Nobody adjusts a person's submission."""
    if not actor.is_authenticated or not actor.is_active or is_system_actor(actor):
        return False
    if node.kind == "company":
        return bool(actor.is_admin)
    if node.kind == "team":
        return actor.is_admin or (actor.role == Role.MANAGER and node.id in managed_team_ids(actor))
    return False


def default_node(user: User) -> Node:
    """The widest level ``user`` sees: the company (administrators), else the top-most team
    they manage, else themself."""
    if user.is_admin or is_system_actor(user):
        return Node("company")
    teams = managed_team_ids(user)
    if teams:
        top = Team.objects.filter(manager=user).order_by("name", "pk").first()
        if top is not None:
            return Node("team", top.pk, top.name)
    return Node("rep", user.pk, str(user))


# ----------------------------------------------------------------------------- accuracy


@dataclass
class AccuracyCell:
    """One level's forecast (commit) for one past period against the actual won revenue:
    ``error = forecast − actual``; ``ape = |error| ÷ actual × 100`` (one decimal; ``None``
    when the actual is zero or there is no forecast)."""

    period: Period
    forecast: Decimal | None
    source: str  # "own" (submitted or adjusted), "below" (sum of the level below), "" (none)
    actual: Decimal
    error: Decimal | None
    ape: Decimal | None


@dataclass
class AccuracyRow:
    node: Node
    cells: list[AccuracyCell]

    @property
    def mape(self) -> Decimal | None:
        """The mean of the cells' APE (one decimal), ``None`` without any."""
        apes = [c.ape for c in self.cells if c.ape is not None]
        if not apes:
            return None
        return (sum(apes, Decimal(0)) / len(apes)).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass
class Accuracy:
    node: Node
    periods: list[Period]
    rows: list[AccuracyRow]  # the node first, then the level below
    missing_rates: set[str]


def past_periods(kind: str, today: date, count: int) -> list[Period]:
    """The ``count`` months or quarters that ended before ``today``, oldest first."""
    periods: list[Period] = []
    day = period_containing(kind, today).start - timedelta(days=1)  # type: ignore[arg-type]
    while len(periods) < count:
        p = period_containing(kind, day)  # type: ignore[arg-type]
        periods.append(p)
        day = p.start - timedelta(days=1)
    return periods[::-1]


def ape_of(forecast: Decimal, actual: Decimal) -> Decimal | None:
    if actual == 0:
        return None
    return (abs(forecast - actual) * 100 / actual).quantize(Decimal("0.1"), ROUND_HALF_UP)


def won_revenue_rows(
    node: Node, periods: Sequence[Period], history: TeamHistory, *, by_team: bool
) -> tuple[list[tuple[int, date, Decimal]], set[str]]:
    """The won revenue of ``node`` (registry metric ``won_revenue``: its records and owner
    windows, team at the time) over the span of ``periods`` as ``(owner, day, value)`` rows in
    the company currency, and the currencies left out for want of a rate. One grouped query.

    The facts of the metric are one row per owner, currency and close day (each day has its
    own rate, and the day tells the owner's team at the time). Amounts already in the company
    currency need no rate, so they are summed per owner and *period* instead, dated the
    period's first day — unless ``by_team`` and the owner's team changes inside the span (then
    the day still tells the team). Every amount is stored in minor units of at most two
    places, so the sums are the same figures as the facts' day rows added up, from a few
    rows per owner instead of one per owner and close day (a year of the company's won
    deals at bench scale 1.0 is ≈ 20,000 owner-days)."""
    start, end = min(p.start for p in periods), max(p.end for p in periods)
    query = FactQuery(start=start, end=end, windows=node_windows(node, start, end, history))
    home = company_currency()
    day: Any = F("closed_on")
    if minor_units(home) >= STORAGE_PLACES:
        per_period = Q(currency=home)
        if by_team:
            moving = sorted(
                user_id
                for user_id, intervals in history.rows.items()
                if any(start < x <= end for s, e, _t in intervals for x in (s, e) if x is not None)
            )
            if moving:
                per_period &= ~Q(owner_id__in=moving)
        day = Case(
            *(When(per_period & Q(closed_on__gte=p.start, closed_on__lte=p.end), then=Value(p.start)) for p in periods),
            default=F("closed_on"),
            output_field=DateField(),
        )
    grouped = (
        get_metric("won_revenue")
        .records(query)
        .values(fact_owner=F("owner_id"), fact_currency=F("currency"), fact_day=day)
        .annotate(**money_sum_annotations("amt", "amount"))
        .order_by()
    )
    raw = list(grouped)
    book = RateBook({r["fact_currency"] for r in raw}, end)
    rows: list[tuple[int, date, Decimal]] = []
    missing: set[str] = set()
    for r in raw:
        value = book.convert(money_sum_value(r, "amt"), r["fact_currency"], r["fact_day"])
        if value is None:
            missing.add(r["fact_currency"])
        else:
            rows.append((r["fact_owner"], r["fact_day"], value))
    return rows, missing


def accuracy(node: Node, periods: Sequence[Period]) -> Accuracy:
    """Each level's forecast for each past period — its latest entry written before the
    period ended (commit), else the sum of the level below as it stood then — against the
    won revenue (registry metric ``won_revenue``, team at the time). Rows: ``node``, then its
    people and child teams. Queries: teams, people, entries, team history, one grouped query
    of the won revenue (:func:`won_revenue_rows`) and the rates."""
    tree = load_tree()
    keys = [node.key, *_child_keys(tree, node)]
    if not periods:
        return Accuracy(node, [], [], set())
    entries = list(ForecastEntry.objects.filter(period_key__in=[p.key for p in periods]))
    by_period: dict[str, list[ForecastEntry]] = defaultdict(list)
    for e in entries:
        by_period[e.period_key].append(e)
    hist = team_history()
    subtrees = {k: tree.subtree(int(k.split(":")[1])) for k in keys if k.startswith("team:")}
    # each team of the tree → the child level whose subtree holds it (one lookup per fact row)
    child_of_team = {t: k for k, sub in subtrees.items() if k != node.key for t in sub}
    won, missing_rates = won_revenue_rows(node, periods, hist, by_team=bool(child_of_team))
    key_set = set(keys)
    period_of: dict[date, str | None] = {}
    actuals: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for owner_id, day, value in won:
        if day not in period_of:
            period_of[day] = next((p.key for p in periods if p.start <= day <= p.end), None)
        pk = period_of[day]
        if pk is None:
            continue
        actuals[(node.key, pk)] += value
        rep_key = f"rep:{owner_id}"
        if rep_key in key_set:
            actuals[(rep_key, pk)] += value
        if child_of_team:
            child = child_of_team.get(hist.team_on(owner_id, day))  # type: ignore[arg-type]
            if child is not None:
                actuals[(child, pk)] += value
    levels_by_period: dict[str, dict[str, Level]] = {}
    for p in periods:
        cutoff = day_start(p.end + timedelta(days=1))
        latest = latest_entries(e for e in by_period.get(p.key, []) if e.created_at < cutoff)
        levels_by_period[p.key] = _levels(tree, latest)
    rows: list[AccuracyRow] = []
    for k in keys:
        cells: list[AccuracyCell] = []
        label_node: Node | None = None
        for p in periods:
            lv = levels_by_period[p.key].get(k)
            actual = _money(actuals[(k, p.key)])
            if lv is None or (lv.entry is None and lv.submitted_people == 0):
                cells.append(AccuracyCell(p, None, "", actual, None, None))
                continue
            label_node = lv.node
            forecast = lv.figure.commit
            cells.append(AccuracyCell(p, forecast, lv.source, actual, forecast - actual, ape_of(forecast, actual)))
        if label_node is None:
            label_node = levels_by_period[periods[0].key].get(k, Level(node, None, Figures(), Figures(), 0, 0)).node
        if k == node.key:
            label_node = node
        rows.append(AccuracyRow(label_node, cells))
    return Accuracy(node, list(periods), rows, missing_rates)


# ----------------------------------------------------------------------------- waterfall

BAR_KEYS = ("new", "moved_in", "increased", "won", "lost", "moved_out", "decreased")


def bar_labels() -> dict[str, str]:
    return {
        "new": _("New deals"),
        "moved_in": _("Moved into the period"),
        "increased": _("Amount increases"),
        "won": _("Won"),
        "lost": _("Lost"),
        "moved_out": _("Moved out (slipped)"),
        "decreased": _("Amount decreases"),
    }


@dataclass
class DealMove:
    """One deal's part in the waterfall: its amount (company currency, today's rate) and
    expected close date then and now (``None`` when it was not in the pipeline then/now)."""

    opportunity_id: int
    bar: str
    value: Decimal
    amount_before: Decimal | None
    amount_after: Decimal | None
    close_before: date | None
    close_after: date | None


@dataclass
class Waterfall:
    """Open pipeline due in ``period`` as of ``since`` → the changes → as of now.

    ``start + Σ bars = end`` exactly (each deal's before and after amounts are converted at
    today's rate and rounded once, then every bar sums them)."""

    period: Period
    since: datetime
    start: Decimal
    end: Decimal
    bars: dict[str, Decimal]
    moves: list[DealMove]
    start_count: int
    end_count: int
    missing_rates: set[str]

    def deals(self, bar: str) -> list[DealMove]:
        return [m for m in self.moves if m.bar == bar]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(BAR_KEYS, 0)
        for m in self.moves:
            out[m.bar] += 1
        return out


_TRACKED = (HistoryField.AMOUNT, HistoryField.EXPECTED_CLOSE_DATE, HistoryField.OUTCOME)


def waterfall(owner_ids: Iterable[int] | None, period: Period, since: datetime, today: date) -> Waterfall:
    """The pipeline waterfall of the deals owned now by ``owner_ids`` (``None``: everyone).

    A deal is *in the pipeline* at a moment when it existed (``created_at``), was open and its
    expected close date lay in ``period``. Its state at ``since`` is its current row with every
    tracked field (amount, expected close date, outcome) put back to the ``old`` value of its
    first ``OpportunityFieldChange`` after ``since``. Each deal in the pipeline then or now
    lands in exactly one bar:

    * in now, not then: created after ``since`` → *new*, else → *moved in* (close date moved
      into the period, or reopened);
    * in then, not now: won → *won*, lost → *lost*, else → *moved out* (close date slipped out
      of the period, or paused);
    * in both: the amount's difference → *increased* or *decreased* (zero: no bar).

    Three queries and one for the rates, whatever the number of deals:

    * the *steady* deals — open and due in the period now, created at or before ``since``,
      without a tracked change since — are in the pipeline then and now at the same amount
      and land in no bar: one grouped aggregate counts them per (currency, amount), and each
      distinct amount is converted and rounded once and multiplied by its count (the same
      figures as converting each deal, at a cost that does not grow with the pipeline);
    * every other candidate (created after ``since``, or changed since) is read as a row
      with its first changes since (two queries), and lands in its bar as above.

    Deals in a currency without a rate are left out and named. Deleted deals have no history
    and are not counted.
    """
    ids = None if owner_ids is None else sorted(set(owner_ids))
    changed = OpportunityFieldChange.objects.filter(field__in=_TRACKED, changed_at__gt=since)
    due_now = Q(outcome=Outcome.OPEN, expected_close_date__gte=period.start, expected_close_date__lte=period.end)
    steady_qs: QuerySet[Opportunity] = Opportunity.objects.filter(due_now, created_at__lte=since).exclude(
        pk__in=changed.values("opportunity_id")
    )
    # the rest, as a UNION of two arms that each walk an index (an OR of the two made both
    # databases scan every deal)
    new_qs: QuerySet[Opportunity] = Opportunity.objects.filter(due_now, created_at__gt=since)
    changed_qs: QuerySet[Opportunity] = Opportunity.objects.filter(pk__in=changed.values("opportunity_id"))
    if ids is not None:
        steady_qs = steady_qs.filter(owner_id__in=ids)
        new_qs = new_qs.filter(owner_id__in=ids)
        changed_qs = changed_qs.filter(owner_id__in=ids)
        changed = changed.filter(opportunity__owner_id__in=ids)
    home = company_currency()
    # the company currency needs no rate: one exact sum; another: one row per distinct amount
    per_amount: Any = F("amount")
    if minor_units(home) >= STORAGE_PLACES:
        per_amount = Case(When(currency=home, then=Value(None)), default=F("amount"), output_field=MoneyField())
    steady = list(
        steady_qs.values("currency", each=per_amount)
        .annotate(n=Count("pk"), **money_sum_annotations("s", "amount"))
        .order_by()
    )
    columns = ("id", "amount", "currency", "expected_close_date", "outcome", "created_at")
    deals = list(new_qs.values(*columns).order_by().union(changed_qs.values(*columns).order_by()))
    first_change: dict[tuple[int, str], OpportunityFieldChange] = {}
    for c in changed.order_by("changed_at", "id").only(
        "opportunity_id", "field", "old_amount", "old_date", "old_value", "currency", "changed_at"
    ):
        first_change.setdefault((c.opportunity_id, c.field), c)
    currencies = {d["currency"] for d in deals} | {r["currency"] for r in steady}
    book = RateBook(currencies | {c.currency for c in first_change.values() if c.currency}, today)
    bars = dict.fromkeys(BAR_KEYS, ZERO)
    moves: list[DealMove] = []
    start = end = ZERO
    start_count = end_count = 0
    missing: set[str] = set()
    for r in steady:
        n = r["n"]
        if r["each"] is None:  # the company currency's sum (rounding each deal changes nothing)
            converted = book.convert(money_sum_value(r, "s"), r["currency"], today)
        else:  # n deals of this amount, each converted and rounded alike
            converted = book.convert(r["each"], r["currency"], today)
            converted = None if converted is None else _money(converted) * n
        if converted is None:
            missing.add(r["currency"])
            continue
        start += _money(converted)
        start_count += n
    end, end_count = start, start_count  # steady deals: the same amount then and now

    def in_period(day: date | None) -> bool:
        return day is not None and period.start <= day <= period.end

    for d in deals:
        pk = d["id"]
        now_amount = book.convert(d["amount"], d["currency"], today)
        if now_amount is None:
            missing.add(d["currency"])
            continue
        a1 = _money(now_amount)
        in1 = d["outcome"] == Outcome.OPEN and in_period(d["expected_close_date"])
        existed = d["created_at"] <= since
        amount_change = first_change.get((pk, HistoryField.AMOUNT))
        a0 = a1
        if amount_change is not None:
            if amount_change.old_amount is None:
                existed = False
            else:
                cur = amount_change.currency or d["currency"]
                old = book.convert(amount_change.old_amount, cur, today)
                if old is None:
                    missing.add(cur)
                    continue
                a0 = _money(old)
        close_change = first_change.get((pk, HistoryField.EXPECTED_CLOSE_DATE))
        close0 = close_change.old_date if close_change is not None else d["expected_close_date"]
        outcome_change = first_change.get((pk, HistoryField.OUTCOME))
        outcome0 = outcome_change.old_value if outcome_change is not None else d["outcome"]
        if outcome_change is not None and outcome_change.old_value == "":
            existed = False
        in0 = existed and outcome0 == Outcome.OPEN and in_period(close0)
        if in0:
            start += a0
            start_count += 1
        if in1:
            end += a1
            end_count += 1
        if in1 and not in0:
            bar, value = ("moved_in" if existed else "new"), a1
        elif in0 and not in1:
            outcome = d["outcome"]
            bar = "won" if outcome == Outcome.WON else "lost" if outcome == Outcome.LOST else "moved_out"
            value = -a0
        elif in0 and in1 and a1 != a0:
            bar, value = ("increased" if a1 > a0 else "decreased"), a1 - a0
        else:
            continue
        bars[bar] += value
        moves.append(
            DealMove(
                pk,
                bar,
                value,
                a0 if in0 else None,
                a1 if in1 else None,
                close0 if in0 else None,
                d["expected_close_date"] if in1 else None,
            )
        )
    moves.sort(key=lambda m: (BAR_KEYS.index(m.bar), -abs(m.value), m.opportunity_id))
    return Waterfall(period, since, start, end, bars, moves, start_count, end_count, missing)
