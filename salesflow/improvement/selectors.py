"""Reads of ``salesflow.improvement``: who sees which project, and each project's report
(baseline, the test after each change, the control plan) computed from ``observe``.

Visibility: a project is seen by whoever may see its segment's node
(``analytics.selectors.node_for_user``: administrators every node, managers their teams,
their members and themselves, reps themselves) and by its owner. Unseen → ``Http404``.
Creating needs a manager or an administrator; editing, the project's owner or an
administrator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from salesflow.analytics.selectors import Node, visible_rep_ids, visible_team_ids
from salesflow.core import stats
from salesflow.core.metrics import MetricFilters
from salesflow.dashboards.charts import Chart, Column, Series
from salesflow.improvement.analysis import Drift, Summary, compare, display_values, is_rate, signals, summarise
from salesflow.improvement.models import METRIC_LABELS, Action, NodeKind, Phase, Project
from salesflow.process.observations import PROCESS_METRICS, Observation, Segment, observe
from salesflow.users.choices import Role
from salesflow.users.models import Team, User
from salesflow.users.permissions import is_system_actor


def can_create_projects(user: User) -> bool:
    """Managers and administrators open projects."""
    return bool(user.is_active and (user.is_admin or user.role == Role.MANAGER or is_system_actor(user)))


def can_edit_project(user: User, project: Project) -> bool:
    """The project's owner and administrators change it, its actions and its phase."""
    return bool(user.is_active and (user.is_admin or is_system_actor(user) or project.owner_id == user.pk))


def projects_visible_to(user: User) -> QuerySet[Project]:
    """Projects whose segment node ``user`` may see, plus those ``user`` owns (one query;
    owner, stage and pipeline loaded)."""
    qs = Project.objects.select_related("owner", "stage", "pipeline")
    teams = visible_team_ids(user)
    if teams is None:
        return qs
    reps = visible_rep_ids(user) or set()
    return qs.filter(
        Q(owner_id=user.pk)
        | Q(node_kind=NodeKind.TEAM, node_id__in=sorted(teams))
        | Q(node_kind=NodeKind.REP, node_id__in=sorted(reps))
    )


def project_for_user(user: User, project_id: int) -> Project:
    found = projects_visible_to(user).select_related("created_by").filter(pk=project_id).first()
    if found is None:
        raise Http404
    return found


def project_list(user: User, *, phase: str = "") -> QuerySet[Project]:
    qs = projects_visible_to(user)
    if phase:
        qs = qs.filter(phase=phase)
    return qs.order_by("-updated_at", "-pk")


def node_of(project: Project, names: dict[str, str] | None = None) -> Node:
    """The project's node (named from ``names`` keyed by node key when given)."""
    key = project.node_key
    name = (names or {}).get(key, "")
    if project.node_kind == NodeKind.COMPANY:
        return Node("company")
    return Node(project.node_kind, project.node_id, name)  # type: ignore[arg-type]


def node_names(projects: list[Project]) -> dict[str, str]:
    """Display names of the projects' nodes: one query for teams, one for people."""
    team_ids = {p.node_id for p in projects if p.node_kind == NodeKind.TEAM and p.node_id}
    rep_ids = {p.node_id for p in projects if p.node_kind == NodeKind.REP and p.node_id}
    names = {"company": str(_("Whole company"))}
    if team_ids:
        names.update({f"team:{t.pk}": t.name for t in Team.objects.filter(pk__in=team_ids)})
    if rep_ids:
        names.update({f"rep:{u.pk}": str(u) for u in User.objects.filter(pk__in=rep_ids)})
    return names


def segment_of(project: Project) -> Segment:
    filters = MetricFilters(pipeline_ids=(project.pipeline_id,) if project.pipeline_id else ())
    return Segment(node=node_of(project), filters=filters, industry=project.industry, size=project.size)


def project_observations(project: Project, start: dt.date, end: dt.date) -> list[Observation]:
    """The project's metric in its segment over ``[start, end]`` (``observe``)."""
    return observe(project.metric_key, segment_of(project), start, end, stage_id=project.stage_id)


def unit_label(metric_key: str) -> str:
    return _("share of cases") if is_rate(metric_key) else _("days")


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeResult:
    """The observations after one action's change date against the baseline."""

    action: Action
    after: Summary
    test: stats.TestResult


@dataclass(frozen=True)
class ControlView:
    centre: float
    ucl: float
    lcl: float  # shown: a duration's lower limit clipped at 0
    sigma: float
    n: int
    limits_from: dt.date
    limits_through: dt.date
    days: list[dt.date]
    values: list[float]
    drifts: list[Drift]


@dataclass
class ProjectReport:
    project: Project
    actions: list[Action]  # with their owners, in the order recorded
    metric_label: str
    unit: str
    rate: bool
    baseline: Summary  # recomputed now from the same window (the stored one is on the project)
    changes: list[ChangeResult]
    control: ControlView | None
    before_after: Chart
    control_chart: Chart | None
    observations_through: dt.date
    computed_at: dt.datetime
    method: str
    notes: list[str] = field(default_factory=list)


def test_method_label(rate: bool) -> str:
    if rate:
        return _("Two-proportion z-test (two-sided, α = 0.05); the difference is after − before.")
    return _("Mann–Whitney U test (two-sided, α = 0.05); the difference is median after − median before.")


def _dec(value: float | None, places: int = 2) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(round(value, places)))


# room on the right for the markLine labels (baseline, target, UCL, centre, LCL)
_GRID: dict[str, Any] = {"grid": {"left": 8, "right": 110, "top": 32, "bottom": 8, "containLabel": True}}


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _weekly(
    metric_key: str, days: list[dt.date], values: list[float], start: dt.date, end: dt.date
) -> tuple[list[str], list[float | None], list[int]]:
    """Per Monday-to-Sunday week: the median (durations) or the rate, and the count."""
    buckets: dict[dt.date, list[float]] = {}
    for day, value in zip(days, values, strict=True):
        buckets.setdefault(_monday(day), []).append(value)
    cats: list[str] = []
    out: list[float | None] = []
    counts: list[int] = []
    week = _monday(start)
    rate = is_rate(metric_key)
    while week <= end:
        sample = buckets.get(week, [])
        cats.append(week.isoformat())
        counts.append(len(sample))
        out.append(stats.mean(sample) if rate else stats.percentile(sample, 50))
        week += dt.timedelta(days=7)
    return cats, out, counts


def _before_after_chart(
    project: Project,
    actions: list[Action],
    days: list[dt.date],
    values: list[float],
    baseline: Summary,
    control: ControlView | None,
    end: dt.date,
) -> Chart:
    rate = is_rate(project.metric_key)
    places = 4 if rate else 2
    cats, weekly, counts = _weekly(project.metric_key, days, values, project.baseline_start, end)
    level = baseline.mean if rate else baseline.p50
    lines: list[dict[str, Any]] = []
    if level is not None:
        lines.append(
            {
                "yAxis": round(level, places),
                "name": _("Baseline"),
                "label": {"formatter": _("Baseline") + " {c}"},
                "lineStyle": {"color": "#868e96"},
            }
        )
    lines.append(
        {
            "yAxis": float(project.target_value),
            "name": _("Target"),
            "label": {"formatter": _("Target") + " {c}"},
            "lineStyle": {"color": "#2fb344"},
        }
    )
    for action in actions:
        if action.done_on is not None and project.baseline_start <= action.done_on <= end:
            lines.append(
                {
                    "xAxis": _monday(action.done_on).isoformat(),
                    "name": action.description[:30],
                    "label": {
                        "formatter": pgettext("improvement", "Change") + " " + action.done_on.isoformat(),
                        "position": "insideEndTop",
                    },
                    "lineStyle": {"color": "#f76707", "type": "solid"},
                }
            )
    if control is not None:
        for name, value, colour in (
            (_("UCL"), control.ucl, "#d63939"),
            (_("Centre line"), control.centre, "#206bc4"),
            (_("LCL"), control.lcl, "#d63939"),
        ):
            lines.append(
                {
                    "yAxis": round(value, places),
                    "name": name,
                    "label": {"formatter": f"{name} {{c}}"},
                    "lineStyle": {"color": colour, "type": "dashed"},
                }
            )
    label = _("Weekly rate") if rate else _("Weekly median")
    series = Series(
        name=label,
        data=[_dec(v, places) for v in weekly],
        type="line",
        echarts={"markLine": {"symbol": "none", "silent": True, "data": lines}},
    )
    return Chart(
        key="before_after",
        title=_("Before and after the changes"),
        columns=[Column(_("Week")), Column(label, "percent" if rate else "days"), Column(_("Cases"), "int")],
        rows=[[c, _dec(v, places), n] for c, v, n in zip(cats, weekly, counts, strict=True)],
        categories=cats,
        series=[series],
        echarts=_GRID,
        note=" ".join(
            [
                _("Each point is one week's median (a rate: the week's share)."),
                _("Lines mark the baseline, the target, each change and the control limits."),
            ]
        ),
    )


def _control_chart(project: Project, control: ControlView) -> Chart:
    rate = is_rate(project.metric_key)
    places = 4 if rate else 2
    cats = [d.isoformat() for d in control.days]
    lines: list[dict[str, Any]] = []
    for name, value, colour in (
        (_("UCL"), control.ucl, "#d63939"),
        (_("Centre line"), control.centre, "#206bc4"),
        (_("LCL"), control.lcl, "#d63939"),
    ):
        lines.append(
            {
                "yAxis": round(value, places),
                "name": name,
                "label": {"formatter": f"{name} {{c}}"},
                "lineStyle": {"color": colour, "type": "dashed" if name != _("Centre line") else "solid"},
            }
        )
    last_limit = max((i for i, d in enumerate(control.days) if d <= control.limits_through), default=None)
    if last_limit is not None and last_limit < len(cats) - 1:
        lines.append(
            {
                "xAxis": last_limit,
                "name": _("Limits set"),
                "label": {"formatter": _("Limits set"), "position": "insideEndTop"},
                "lineStyle": {"color": "#868e96", "type": "dotted"},
            }
        )
    points = [
        {
            "coord": [d.index, round(d.value, places)],
            "value": round(d.value, places),
            "name": ", ".join(str(r) for r in d.rules),
            "itemStyle": {"color": "#d63939"},
            "symbolSize": 28,
        }
        for d in control.drifts
    ]
    series = Series(
        name=_("Observation"),
        data=[_dec(v, places) for v in control.values],
        type="line",
        echarts={
            "markLine": {"symbol": "none", "silent": True, "data": lines},
            "markPoint": {"symbol": "pin", "data": points},
        },
    )
    flagged = {d.index: d for d in control.drifts}
    return Chart(
        key="control",
        title=_("Control chart (individuals, XmR)"),
        columns=[
            Column(_("Day")),
            Column(unit_label(project.metric_key), "percent" if rate else "days"),
            Column(_("Rules broken")),
        ],
        rows=[
            [c, _dec(v, places), ", ".join(str(r) for r in flagged[i].rules) if i in flagged else ""]
            for i, (c, v) in enumerate(zip(cats, control.values, strict=True))
        ],
        categories=cats,
        series=[series],
        echarts=_GRID,
        note=" ".join(
            [
                _("Limits = centre ± 2.66 × average moving range, from the observations after the change."),
                _("Pins mark points breaking a Western Electric rule."),
            ]
        ),
    )


def control_view(project: Project, days: list[dt.date], values: list[float]) -> ControlView | None:
    """The control plan's limits with the post-change series (``days``/``values`` from
    ``control_from`` on) and the points breaking a rule; ``None`` without a plan."""
    if (
        project.control_centre is None
        or project.control_sigma is None
        or project.control_ucl is None
        or project.control_lcl is None
        or project.control_from is None
        or project.control_through is None
    ):
        return None
    lcl = project.control_lcl if is_rate(project.metric_key) else max(project.control_lcl, 0.0)
    if is_rate(project.metric_key):
        lcl = max(lcl, 0.0)
    return ControlView(
        centre=project.control_centre,
        ucl=project.control_ucl,
        lcl=lcl,
        sigma=project.control_sigma,
        n=project.control_n or 0,
        limits_from=project.control_from,
        limits_through=project.control_through,
        days=days,
        values=values,
        drifts=signals(days, values, project.control_centre, project.control_sigma),
    )


def project_report(project: Project, today: dt.date | None = None) -> ProjectReport:
    """Everything the detail page and the API show, from ONE ``observe`` call over the
    baseline start to today: the baseline recomputed, one test per done action
    (observations after its change date against the baseline), the control plan with its
    flagged points, and the two charts."""
    today = today or timezone.localdate()
    end = max(today, project.baseline_end)
    observations = project_observations(project, project.baseline_start, end)
    key = project.metric_key
    values = display_values(key, observations)
    days = [o.day for o in observations]
    base_values = [v for d, v in zip(days, values, strict=True) if d <= project.baseline_end]
    baseline = summarise(key, base_values)
    changes: list[ChangeResult] = []
    actions = list(project.actions.select_related("owner").order_by("pk"))
    for action in actions:
        if action.done_on is None:
            continue
        after = [v for d, v in zip(days, values, strict=True) if d > action.done_on]
        changes.append(ChangeResult(action, summarise(key, after), compare(key, base_values, after)))
    control = None
    if project.control_from is not None:
        pairs = [(d, v) for d, v in zip(days, values, strict=True) if d >= project.control_from]
        control = control_view(project, [d for d, _v in pairs], [v for _d, v in pairs])
    rate = is_rate(key)
    label = str(METRIC_LABELS.get(key, PROCESS_METRICS[key].label))
    if project.stage_id is not None and project.stage is not None:
        label = f"{label} · {project.stage.label}"
    return ProjectReport(
        project=project,
        actions=actions,
        metric_label=label,
        unit=unit_label(key),
        rate=rate,
        baseline=baseline,
        changes=changes,
        control=control,
        before_after=_before_after_chart(project, actions, days, values, baseline, control, end),
        control_chart=_control_chart(project, control) if control is not None else None,
        observations_through=end,
        computed_at=timezone.now(),
        method=test_method_label(rate),
    )


PHASES_OPEN = (Phase.DEFINE, Phase.MEASURE, Phase.ANALYSE, Phase.IMPROVE)
