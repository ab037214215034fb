"""API of ``salesflow.improvement`` under ``/api/v1/improvement``: thin endpoints over its
selectors and services (the pages call the same ones).

* ``GET /projects`` (``?phase=``), ``POST /projects``;
* ``GET /projects/{id}`` — the project with its report (baseline, a test per change, the
  control plan with flagged points, the chart data); ``PATCH /projects/{id}``;
* ``POST /projects/{id}/phase`` (``{"to_phase", "limits_through"}``), ``POST /projects/{id}/baseline``;
* ``POST /projects/{id}/actions``, ``PATCH /projects/{id}/actions/{action_id}``.

Values are in the metric's display unit: days for times, the fraction 0–1 for rates. An
unseen project is 404; a visible one the caller may not change is 403.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema

from salesflow.core.schemas import StrictQuery, StrictSchema
from salesflow.dashboards.cache import chart_dict
from salesflow.improvement.models import (
    ACTION_MAX_LENGTH,
    PHASE_ORDER,
    PROBLEM_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Action,
    Project,
)
from salesflow.improvement.selectors import node_names, project_for_user, project_list, project_report
from salesflow.improvement.services import (
    action_create,
    action_update,
    project_advance,
    project_create,
    project_measure_baseline,
    project_update,
)
from salesflow.users.models import User

router = Router(tags=["improvement"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


class ProjectQuery(StrictQuery):
    phase: str | None = Field(None, max_length=10, description="define, measure, analyse, improve, control or closed")


class ProjectIn(StrictSchema):
    title: str = Field(..., max_length=TITLE_MAX_LENGTH)
    problem: str = Field(..., max_length=PROBLEM_MAX_LENGTH)
    metric_key: str = Field(..., max_length=30, description="time_in_stage, cycle_time, win_rate or rework_rate")
    stage_id: int | None = Field(None, ge=1, description="required for time_in_stage")
    node: str = Field(..., max_length=40, description="company, team:<id> or rep:<id>")
    pipeline_id: int | None = Field(None, ge=1)
    industry: str = Field("", max_length=40)
    size: str = Field("", max_length=20)
    target_value: Decimal = Field(..., ge=0, le=999999, description="days for times, a fraction 0–1 for rates")
    baseline_start: dt.date
    baseline_end: dt.date
    owner_id: int = Field(..., ge=1)


class ProjectPatch(StrictSchema):
    title: str | None = Field(None, max_length=TITLE_MAX_LENGTH)
    problem: str | None = Field(None, max_length=PROBLEM_MAX_LENGTH)
    metric_key: str | None = Field(None, max_length=30)
    stage_id: int | None = Field(None, ge=1)
    node: str | None = Field(None, max_length=40)
    pipeline_id: int | None = Field(None, ge=1)
    industry: str | None = Field(None, max_length=40)
    size: str | None = Field(None, max_length=20)
    target_value: Decimal | None = Field(None, ge=0, le=999999)
    baseline_start: dt.date | None = None
    baseline_end: dt.date | None = None
    owner_id: int | None = Field(None, ge=1)


class PhaseIn(StrictSchema):
    to_phase: str = Field(..., max_length=10)
    limits_through: dt.date | None = None


class ActionIn(StrictSchema):
    description: str = Field(..., max_length=ACTION_MAX_LENGTH)
    owner_id: int = Field(..., ge=1)
    due_on: dt.date | None = None
    done_on: dt.date | None = Field(None, description="the change date (today or earlier)")


class ActionPatch(StrictSchema):
    description: str | None = Field(None, max_length=ACTION_MAX_LENGTH)
    owner_id: int | None = Field(None, ge=1)
    due_on: dt.date | None = None
    done_on: dt.date | None = None


class SummaryOut(Schema):
    n: int | None
    mean: float | None
    p50: float | None
    p80: float | None
    measured_at: str | None = None


class TestOut(Schema):
    method: str
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_before: int
    n_after: int
    significant: bool


class ImprovementActionOut(Schema):
    action_id: int
    description: str
    owner_id: int
    owner_name: str
    due_on: dt.date | None
    done_on: dt.date | None
    after: SummaryOut | None
    test: TestOut | None


class SignalOut(Schema):
    day: dt.date
    value: float
    rules: list[int]


class ControlOut(Schema):
    centre: float
    ucl: float
    lcl: float
    sigma: float
    n: int
    limits_from: dt.date
    limits_through: dt.date
    checked_through: dt.date | None
    last_drift_on: dt.date | None
    signals: list[SignalOut]


class ProjectOut(Schema):
    project_id: int
    title: str
    problem: str
    metric_key: str
    stage_id: int | None
    node: str
    node_name: str
    pipeline_id: int | None
    industry: str
    size: str
    target_value: str
    baseline_start: dt.date
    baseline_end: dt.date
    phase: str
    owner_id: int
    owner_name: str
    baseline: SummaryOut
    updated_at: str


class ProjectDetailOut(ProjectOut):
    unit: str
    method: str
    actions: list[ImprovementActionOut]
    control: ControlOut | None
    charts: dict[str, Any]
    computed_at: str


def _project_out(p: Project, names: dict[str, str]) -> dict[str, Any]:
    return {
        "project_id": p.pk,
        "title": p.title,
        "problem": p.problem,
        "metric_key": p.metric_key,
        "stage_id": p.stage_id,
        "node": p.node_key,
        "node_name": names.get(p.node_key, ""),
        "pipeline_id": p.pipeline_id,
        "industry": p.industry,
        "size": p.size,
        "target_value": str(p.target_value),
        "baseline_start": p.baseline_start,
        "baseline_end": p.baseline_end,
        "phase": p.phase,
        "owner_id": p.owner_id,
        "owner_name": str(p.owner),
        "baseline": {
            "n": p.baseline_n,
            "mean": p.baseline_mean,
            "p50": p.baseline_p50,
            "p80": p.baseline_p80,
            "measured_at": p.baseline_measured_at.isoformat() if p.baseline_measured_at else None,
        },
        "updated_at": p.updated_at.isoformat(),
    }


def _detail(user: User, project_id: int) -> dict[str, Any]:
    project = project_for_user(user, project_id)
    report = project_report(project)
    out = _project_out(project, node_names([project]))
    results = {r.action.pk: r for r in report.changes}
    actions = []
    for a in report.actions:
        r = results.get(a.pk)
        actions.append(
            {
                "action_id": a.pk,
                "description": a.description,
                "owner_id": a.owner_id,
                "owner_name": str(a.owner),
                "due_on": a.due_on,
                "done_on": a.done_on,
                "after": None
                if r is None
                else {"n": r.after.n, "mean": r.after.mean, "p50": r.after.p50, "p80": r.after.p80},
                "test": None
                if r is None
                else {
                    "method": r.test.method,
                    "difference": r.test.difference,
                    "ci_low": r.test.ci_low,
                    "ci_high": r.test.ci_high,
                    "p_value": r.test.p_value,
                    "n_before": r.test.n_a,
                    "n_after": r.test.n_b,
                    "significant": r.test.significant,
                },
            }
        )
    c = report.control
    charts = {"before_after": chart_dict(report.before_after)}
    if report.control_chart is not None:
        charts["control"] = chart_dict(report.control_chart)
    out.update(
        {
            "unit": "rate" if report.rate else "days",
            "method": report.method,
            "actions": actions,
            "control": None
            if c is None
            else {
                "centre": c.centre,
                "ucl": c.ucl,
                "lcl": c.lcl,
                "sigma": c.sigma,
                "n": c.n,
                "limits_from": c.limits_from,
                "limits_through": c.limits_through,
                "checked_through": project.control_checked_through,
                "last_drift_on": project.control_last_drift_on,
                "signals": [{"day": d.day, "value": d.value, "rules": list(d.rules)} for d in c.drifts],
            },
            "charts": charts,
            "computed_at": report.computed_at.isoformat(),
        }
    )
    return out


@router.get("/projects", response=list[ProjectOut], summary="Improvement projects you may see")
def list_projects(request: HttpRequest, filters: Query[ProjectQuery]) -> list[dict[str, Any]]:
    from salesflow.core.errors import ValidationFailed

    phase = filters.phase or ""
    if phase and phase not in PHASE_ORDER:
        raise ValidationFailed("Check the filters.", field_errors={"phase": ["Unknown phase."]})
    projects = list(project_list(_user(request), phase=phase)[:500])
    names = node_names(projects)
    return [_project_out(p, names) for p in projects]


@router.post("/projects", response={201: ProjectDetailOut}, summary="Open an improvement project")
def create_project(request: HttpRequest, payload: ProjectIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    project = project_create(actor=user, **payload.dict())
    return 201, _detail(user, project.pk)


@router.get("/projects/{int:project_id}", response=ProjectDetailOut, summary="A project with its report")
def get_project(request: HttpRequest, project_id: int) -> dict[str, Any]:
    return _detail(_user(request), project_id)


@router.patch("/projects/{int:project_id}", response=ProjectDetailOut, summary="Change a project")
def patch_project(request: HttpRequest, project_id: int, payload: ProjectPatch) -> dict[str, Any]:
    user = _user(request)
    project = project_for_user(user, project_id)
    changes = payload.dict(exclude_unset=True)
    for key in (
        "title",
        "problem",
        "metric_key",
        "node",
        "industry",
        "size",
        "target_value",
        "baseline_start",
        "baseline_end",
        "owner_id",
    ):
        if key in changes and changes[key] is None:
            from salesflow.core.errors import ValidationFailed

            raise ValidationFailed("Check the project.", field_errors={key: ["This field cannot be empty."]})
    project_update(actor=user, project=project, **changes)
    return _detail(user, project_id)


@router.post("/projects/{int:project_id}/phase", response=ProjectDetailOut, summary="Move to the next phase")
def advance_project(request: HttpRequest, project_id: int, payload: PhaseIn) -> dict[str, Any]:
    user = _user(request)
    project = project_for_user(user, project_id)
    project_advance(actor=user, project=project, to_phase=payload.to_phase, limits_through=payload.limits_through)
    return _detail(user, project_id)


@router.post("/projects/{int:project_id}/baseline", response=ProjectDetailOut, summary="Measure the baseline again")
def measure_project(request: HttpRequest, project_id: int) -> dict[str, Any]:
    user = _user(request)
    project_measure_baseline(actor=user, project=project_for_user(user, project_id))
    return _detail(user, project_id)


@router.post("/projects/{int:project_id}/actions", response={201: ProjectDetailOut}, summary="Record an action")
def create_action(request: HttpRequest, project_id: int, payload: ActionIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    action_create(actor=user, project=project_for_user(user, project_id), **payload.dict())
    return 201, _detail(user, project_id)


@router.patch(
    "/projects/{int:project_id}/actions/{int:action_id}", response=ProjectDetailOut, summary="Change an action"
)
def patch_action(request: HttpRequest, project_id: int, action_id: int, payload: ActionPatch) -> dict[str, Any]:
    user = _user(request)
    project = project_for_user(user, project_id)
    action = Action.objects.filter(project=project, pk=action_id).first()
    if action is None:
        raise Http404
    changes = payload.dict(exclude_unset=True)
    for key in ("description", "owner_id"):
        if key in changes and changes[key] is None:
            from salesflow.core.errors import ValidationFailed

            raise ValidationFailed("Check the action.", field_errors={key: ["This field cannot be empty."]})
    action_update(actor=user, action=action, **changes)
    return _detail(user, project_id)
