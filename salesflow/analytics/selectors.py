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
from datetime import date
from decimal import Decimal
from typing import Literal

from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.core.metrics import FactQuery, Facts, MetricFilters, OwnerWindow, get_metric
from salesflow.core.periods import Period
from salesflow.users.choices import Role
from salesflow.users.models import Team, User
from salesflow.users.permissions import is_system_actor, managed_team_ids, team_subtree_ids
from salesflow.users.selectors import TeamHistory, team_history

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
        return {user.pk, *User.objects.filter(team_id__in=teams).values_list("pk", flat=True)}
    if user.role == Role.ASSISTANT:
        return {user.pk, *user.delegated_reps.values_list("pk", flat=True)}
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
