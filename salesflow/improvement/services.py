"""Writes of ``salesflow.improvement``. Every write checks the actor, validates everything
before writing, and records a typed audit event (``improvement.events``) in its transaction.

- ``project_create``: managers and administrators, on a node they can see
  (``node_for_user``), with an owner they may assign (administrators: anyone active;
  managers: themselves and the people of their teams). Measures the baseline.
- ``project_update`` / ``project_advance`` / ``project_measure_baseline`` / actions: the
  project's owner or an administrator (``selectors.can_edit_project``).
- ``project_control_check``: the system's daily check (``tasks.check_control_plans``).

Raises ``ValidationFailed`` (400, naming each field), ``Conflict`` (409: a phase that no
longer applies) and ``Forbidden`` (403: the actor may see but not do it).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict, Unpack, cast

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.analytics.selectors import node_for_user, parse_node_key, visible_rep_ids
from salesflow.core import stats
from salesflow.core.audit import changed_fields, record_event
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.schemas import text_error
from salesflow.improvement.analysis import display_values, is_rate, signals, summarise
from salesflow.improvement.models import (
    ACTION_MAX_LENGTH,
    PHASE_ORDER,
    PROBLEM_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Action,
    NodeKind,
    Phase,
    Project,
)
from salesflow.improvement.selectors import can_create_projects, can_edit_project, project_observations
from salesflow.parties.choices import CompanySize, Industry
from salesflow.process.observations import PROCESS_METRICS
from salesflow.sales.models import Pipeline, Stage
from salesflow.users.models import User
from salesflow.users.permissions import is_system_actor

MAX_BASELINE_DAYS = 731
TARGET_LIMIT = Decimal("1000000")
DEFINITION_FIELDS = frozenset({"metric_key", "stage_id", "node", "pipeline_id", "industry", "size"})
PROJECT_FIELDS = DEFINITION_FIELDS | {"title", "problem", "target_value", "baseline_start", "baseline_end", "owner_id"}
ACTION_FIELDS = frozenset({"description", "owner_id", "due_on", "done_on"})


class ProjectChanges(TypedDict, total=False):
    title: str
    problem: str
    metric_key: str
    stage_id: int | None
    node: str
    pipeline_id: int | None
    industry: str
    size: str
    target_value: Decimal | str
    baseline_start: dt.date
    baseline_end: dt.date
    owner_id: int


class ActionChanges(TypedDict, total=False):
    description: str
    owner_id: int
    due_on: dt.date | None
    done_on: dt.date | None


def _text(value: Any, field: str, limit: int, errors: dict[str, list[str]], *, multiline: bool, required: bool) -> str:
    if value is not None and not isinstance(value, str):
        errors[field] = [_("Enter text.")]
        return ""
    text = (value or "").strip()
    if required and not text:
        errors[field] = [_("This field is required.")]
    elif len(text) > limit:
        errors[field] = [_("At most %(n)d characters (it has %(count)d).") % {"n": limit, "count": len(text)}]
    elif text_error(text, multiline=multiline):
        errors[field] = [_("Remove the control characters from the text.")]
    return text


def _assignable(actor: User, owner_id: Any, field: str, errors: dict[str, list[str]]) -> User | None:
    """The owner ``owner_id`` when ``actor`` may give them the project or action."""
    if not isinstance(owner_id, int) or isinstance(owner_id, bool):
        errors[field] = [_("Choose a person.")]
        return None
    owner = User.objects.filter(pk=owner_id, is_active=True).first()
    reps = visible_rep_ids(actor)
    if owner is None or (reps is not None and owner.pk not in reps) or is_system_actor(owner):
        errors[field] = [_("Choose a person you can assign.")]
        return None
    return owner


def _date(value: Any, field: str, errors: dict[str, list[str]], *, required: bool) -> dt.date | None:
    if value is None:
        if required:
            errors[field] = [_("This field is required.")]
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        errors[field] = [_("Enter a date.")]
        return None
    if not dt.date(2000, 1, 1) <= value <= dt.date(2100, 12, 31):
        errors[field] = [_("Enter a date between 2000 and 2100.")]
        return None
    return cast(dt.date, value)


def _target(value: Any, metric_key: str | None, errors: dict[str, list[str]]) -> Decimal | None:
    try:
        number = (
            Decimal(str(value).strip())
            if isinstance(value, str | int | Decimal) and not isinstance(value, bool)
            else None
        )
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite():
        errors["target_value"] = [_("Enter a number.")]
        return None
    if number < 0 or number >= TARGET_LIMIT:
        errors["target_value"] = [_("Enter a number from 0 to 999,999.")]
        return None
    if metric_key is not None and metric_key in PROCESS_METRICS and is_rate(metric_key) and number > 1:
        errors["target_value"] = [_("A rate target is a fraction from 0 to 1 (0.25 = 25%).")]
        return None
    return number.quantize(Decimal("0.0001"))


def _clean(actor: User, data: dict[str, Any], today: dt.date) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Validate a whole definition (create, or the current values overlaid with changes)."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    out["title"] = _text(data.get("title"), "title", TITLE_MAX_LENGTH, errors, multiline=False, required=True)
    out["problem"] = _text(data.get("problem"), "problem", PROBLEM_MAX_LENGTH, errors, multiline=True, required=True)
    metric_key = data.get("metric_key")
    if not isinstance(metric_key, str) or metric_key not in PROCESS_METRICS:
        errors["metric_key"] = [_("Choose a metric.")]
        metric_key = None
    out["metric_key"] = metric_key
    pipeline = None
    pipeline_id = data.get("pipeline_id")
    if pipeline_id is not None:
        pipeline = Pipeline.objects.filter(pk=pipeline_id).first() if isinstance(pipeline_id, int) else None
        if pipeline is None:
            errors["pipeline_id"] = [_("Choose a pipeline.")]
    out["pipeline"] = pipeline
    stage = None
    stage_id = data.get("stage_id")
    if stage_id is not None:
        stage = Stage.objects.filter(pk=stage_id).first() if isinstance(stage_id, int) else None
        if stage is None:
            errors["stage_id"] = [_("Choose a stage.")]
        elif pipeline is not None and stage.pipeline_id != pipeline.pk:
            errors["stage_id"] = [_("Choose a stage of the chosen pipeline.")]
    if (
        metric_key is not None
        and PROCESS_METRICS[metric_key].needs_stage
        and stage is None
        and "stage_id" not in errors
    ):
        errors["stage_id"] = [_("This metric is measured per stage: choose one.")]
    if metric_key is not None and not PROCESS_METRICS[metric_key].needs_stage and metric_key != "rework_rate":
        stage = None  # cycle time and win rate do not read a stage
    out["stage"] = stage
    node = data.get("node")
    out["node"] = None
    try:
        if not isinstance(node, str):
            raise Http404
        out["node"] = node_for_user(actor, node)
    except Http404:
        errors["node"] = [_("Choose a team or person you can see.")]
    industry = data.get("industry") or ""
    if not isinstance(industry, str) or (industry and industry not in Industry.values):
        errors["industry"] = [_("Choose an industry.")]
    out["industry"] = industry if isinstance(industry, str) else ""
    size = data.get("size") or ""
    if not isinstance(size, str) or (size and size not in CompanySize.values):
        errors["size"] = [_("Choose a company size.")]
    out["size"] = size if isinstance(size, str) else ""
    out["target_value"] = _target(data.get("target_value"), metric_key, errors)
    start = _date(data.get("baseline_start"), "baseline_start", errors, required=True)
    end = _date(data.get("baseline_end"), "baseline_end", errors, required=True)
    if start is not None and end is not None:
        if end < start:
            errors["baseline_end"] = [_("The baseline ends after it starts.")]
        elif (end - start).days + 1 > MAX_BASELINE_DAYS:
            errors["baseline_end"] = [_("A baseline window is at most two years.")]
        elif end > today:
            errors["baseline_end"] = [_("The baseline is measured from history: end it today or earlier.")]
    out["baseline_start"], out["baseline_end"] = start, end
    out["owner"] = _assignable(actor, data.get("owner_id"), "owner_id", errors)
    return out, errors


def _apply(project: Project, clean: dict[str, Any]) -> None:
    node = clean["node"]
    project.title = clean["title"]
    project.problem = clean["problem"]
    project.metric_key = clean["metric_key"]
    project.stage = clean["stage"]
    project.node_kind = node.kind
    project.node_id = node.id
    project.pipeline = clean["pipeline"]
    project.industry = clean["industry"]
    project.size = clean["size"]
    project.target_value = clean["target_value"]
    project.baseline_start = clean["baseline_start"]
    project.baseline_end = clean["baseline_end"]
    project.owner = clean["owner"]


def _fmt(value: float | None) -> str | None:
    return None if value is None else f"{value:.4f}"


def _measure(actor: User | None, project: Project) -> None:
    """Measure and store the baseline; audited."""
    observations = project_observations(project, project.baseline_start, project.baseline_end)
    summary = summarise(project.metric_key, display_values(project.metric_key, observations))
    project.baseline_n = summary.n
    project.baseline_mean = summary.mean
    project.baseline_p50 = summary.p50
    project.baseline_p80 = summary.p80
    project.baseline_measured_at = timezone.now()
    project.save(
        update_fields=[
            "baseline_n",
            "baseline_mean",
            "baseline_p50",
            "baseline_p80",
            "baseline_measured_at",
            "updated_at",
        ]
    )
    record_event(
        actor=actor,
        verb="improvement.project.baseline_measured",
        target=project,
        data={
            "n": summary.n,
            "mean": _fmt(summary.mean),
            "p50": _fmt(summary.p50),
            "p80": _fmt(summary.p80),
            "start": project.baseline_start,
            "end": project.baseline_end,
        },
    )


@transaction.atomic
def project_create(*, actor: User, today: dt.date | None = None, **data: Any) -> Project:
    """Open a project in the define phase and measure its baseline. ``data``: title,
    problem, metric_key, stage_id, node (``company`` / ``team:<id>`` / ``rep:<id>``),
    pipeline_id, industry, size, target_value (days, or a fraction for rates),
    baseline_start, baseline_end, owner_id. ``Forbidden`` unless a manager or an
    administrator; an unseen node is a field error on ``node``."""
    if not can_create_projects(actor):
        raise Forbidden(_("Only managers and administrators open improvement projects."))
    refuse_unknown_fields(data, PROJECT_FIELDS, _("Check the project."))
    clean, errors = _clean(actor, data, today or timezone.localdate())
    if errors:
        raise ValidationFailed(_("Check the project."), field_errors=errors)
    project = Project(created_by=actor, phase=Phase.DEFINE)
    _apply(project, clean)
    project.save()
    record_event(
        actor=actor,
        verb="improvement.project.created",
        target=project,
        data={
            "metric": project.metric_key,
            "node": project.node_key,
            "phase": project.phase,
            "owner": project.owner_id,
        },
        related=[project.owner],
    )
    _measure(actor, project)
    return project


def _current(project: Project) -> dict[str, Any]:
    return {
        "title": project.title,
        "problem": project.problem,
        "metric_key": project.metric_key,
        "stage_id": project.stage_id,
        "node": project.node_key,
        "pipeline_id": project.pipeline_id,
        "industry": project.industry,
        "size": project.size,
        "target_value": project.target_value,
        "baseline_start": project.baseline_start,
        "baseline_end": project.baseline_end,
        "owner_id": project.owner_id,
    }


def _lock(project: Project) -> Project:
    return Project.objects.select_for_update(of=("self",)).select_related("owner", "stage").get(pk=project.pk)


@transaction.atomic
def project_update(
    *, actor: User, project: Project, today: dt.date | None = None, **changes: Unpack[ProjectChanges]
) -> Project:
    """Change the definition. The metric and the segment (metric_key, stage_id, node,
    pipeline_id, industry, size) change only before the improve phase (``Conflict`` after);
    a changed metric, segment or window re-measures the baseline. A closed project is
    read-only. Nothing changed → nothing written."""
    refuse_unknown_fields(changes, PROJECT_FIELDS, _("Check the project."))
    locked = _lock(project)
    if not can_edit_project(actor, locked):
        raise Forbidden(_("Only the project's owner or an administrator can change it."))
    if locked.phase == Phase.CLOSED:
        raise Conflict(_("The project is closed."))
    before = _current(locked)
    given: dict[str, Any] = dict(changes)
    after = {**before, **given}
    redefined = {k for k in DEFINITION_FIELDS if k in given and given[k] != before[k]}
    if redefined and PHASE_ORDER.index(locked.phase) >= PHASE_ORDER.index(Phase.IMPROVE):
        raise Conflict(_("The metric and the segment are fixed once the project reaches the improve phase."))
    clean, errors = _clean(actor, after, today or timezone.localdate())
    if given.get("owner_id", before["owner_id"]) == before["owner_id"]:
        # keeping the owner needs no assign right (an administrator may have chosen them)
        errors.pop("owner_id", None)
        clean["owner"] = locked.owner
    if given.get("node", before["node"]) == before["node"]:
        errors.pop("node", None)
        if clean["node"] is None:
            kind, pk = parse_node_key(locked.node_key)
            from salesflow.analytics.selectors import Node

            clean["node"] = Node(kind, pk)
    if errors:
        raise ValidationFailed(_("Check the project."), field_errors=errors)
    _apply(locked, clean)
    now = _current(locked)
    diff = changed_fields(
        {k: str(v) if v is not None else None for k, v in before.items()},
        {k: str(v) if v is not None else None for k, v in now.items()},
    )
    if not diff:
        return locked
    locked.save()
    record_event(actor=actor, verb="improvement.project.updated", target=locked, data={"changes": diff})
    if {"metric_key", "stage_id", "node", "pipeline_id", "industry", "size", "baseline_start", "baseline_end"} & set(
        diff
    ):
        _measure(actor, locked)
    return locked


@transaction.atomic
def project_measure_baseline(*, actor: User, project: Project) -> Project:
    """Measure the baseline again from history (new deals may have closed in the window)."""
    locked = _lock(project)
    if not can_edit_project(actor, locked):
        raise Forbidden(_("Only the project's owner or an administrator can change it."))
    _measure(actor, locked)
    return locked


@transaction.atomic
def project_advance(
    *, actor: User, project: Project, to_phase: str, limits_through: dt.date | None = None, today: dt.date | None = None
) -> Project:
    """Move to the next phase (only forward, one step). Entering **control** sets the
    control plan: XmR limits (``core.stats.xmr``) from the observations after the latest
    change date through ``limits_through`` (default today); it needs a done action and at
    least two such observations. ``Conflict`` when ``to_phase`` is not the next phase."""
    today = today or timezone.localdate()
    locked = _lock(project)
    if not can_edit_project(actor, locked):
        raise Forbidden(_("Only the project's owner or an administrator can change it."))
    if to_phase not in PHASE_ORDER:
        raise ValidationFailed(_("Check the phase."), field_errors={"phase": [_("Choose a phase.")]})
    current = PHASE_ORDER.index(locked.phase)
    if PHASE_ORDER.index(to_phase) != current + 1:
        raise Conflict(_("A project moves one phase forward at a time."))
    if to_phase == Phase.CONTROL:
        _set_control(actor, locked, limits_through or today, today)
    old = locked.phase
    locked.phase = to_phase
    locked.save(update_fields=["phase", "updated_at"])
    record_event(
        actor=actor, verb="improvement.project.phase_changed", target=locked, data={"from": old, "to": to_phase}
    )
    return locked


def _set_control(actor: User, project: Project, through: dt.date, today: dt.date) -> None:
    done = [a.done_on for a in project.actions.all() if a.done_on is not None]
    if not done:
        raise ValidationFailed(
            _("Record the change first."),
            field_errors={"phase": [_("A control plan needs a done action (its change date).")]},
        )
    start = max(done) + dt.timedelta(days=1)
    if isinstance(through, dt.datetime) or not isinstance(through, dt.date) or through > today or through < start:
        raise ValidationFailed(
            _("Check the control plan."),
            field_errors={
                "limits_through": [_("End the limit-setting data after the change and no later than today.")]
            },
        )
    values = display_values(project.metric_key, project_observations(project, start, through))
    limits = stats.xmr(values)
    if limits is None:
        raise ValidationFailed(
            _("Check the control plan."),
            field_errors={"phase": [_("At least two observations after the change are needed to set control limits.")]},
        )
    project.control_from, project.control_through = start, through
    project.control_n, project.control_centre, project.control_sigma = limits.n, limits.centre, limits.sigma
    project.control_ucl, project.control_lcl = limits.ucl, limits.lcl
    project.control_set_at = timezone.now()
    project.control_checked_through = through
    project.save()
    record_event(
        actor=actor,
        verb="improvement.project.control_set",
        target=project,
        data={
            "n": limits.n,
            "centre": f"{limits.centre:.4f}",
            "ucl": f"{limits.ucl:.4f}",
            "lcl": f"{limits.lcl:.4f}",
            "from": start,
            "through": through,
        },
    )


@transaction.atomic
def project_control_check(*, project: Project, today: dt.date, actor: User | None = None) -> list[dict[str, Any]]:
    """The daily check of a control plan: the post-change series from ``control_from`` to
    ``today`` against the stored centre and σ̂ (Western Electric rules 1–4); points after
    the last day already checked that break a rule are new drift. With any, writes
    ``improvement.project.drifted`` for the owner. Returns the new signals (day, value,
    rules). Idempotent for a day: a second run finds nothing new."""
    locked = _lock(project)
    if (
        locked.phase not in (Phase.CONTROL, Phase.CLOSED)
        or locked.control_from is None
        or locked.control_centre is None
        or locked.control_sigma is None
        or not math.isfinite(locked.control_sigma)
    ):
        return []
    checked = locked.control_checked_through or locked.control_through or locked.control_from
    if today <= checked:
        return []
    observations = project_observations(locked, locked.control_from, today)
    days = [o.day for o in observations]
    values = display_values(locked.metric_key, observations)
    new = [s for s in signals(days, values, locked.control_centre, locked.control_sigma) if s.day > checked]
    found = [{"day": s.day.isoformat(), "value": round(s.value, 4), "rules": list(s.rules)} for s in new]
    locked.control_checked_through = today
    fields = ["control_checked_through"]
    if found:
        locked.control_last_drift_on = max(s.day for s in new)
        fields.append("control_last_drift_on")
        record_event(
            actor=actor,
            verb="improvement.project.drifted",
            target=locked,
            data={
                "owner": locked.owner_id,
                "signals": found,
                "checked_from": checked + dt.timedelta(days=1),
                "checked_through": today,
            },
            related=[locked.owner],
        )
    locked.save(update_fields=fields)
    return found


def _clean_action(actor: User, data: dict[str, Any], today: dt.date) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {
        "description": _text(
            data.get("description"), "description", ACTION_MAX_LENGTH, errors, multiline=False, required=True
        ),
        "due_on": _date(data.get("due_on"), "due_on", errors, required=False),
        "done_on": _date(data.get("done_on"), "done_on", errors, required=False),
    }
    if out["done_on"] is not None and out["done_on"] > today:
        errors["done_on"] = [_("The change date is today or earlier.")]
    out["owner"] = _assignable(actor, data.get("owner_id"), "owner_id", errors)
    return out, errors


@transaction.atomic
def action_create(*, actor: User, project: Project, today: dt.date | None = None, **data: Any) -> Action:
    """Record an action: description, owner_id, due_on, done_on (the change date, today or
    earlier). The project's owner or an administrator; not on a closed project."""
    refuse_unknown_fields(data, ACTION_FIELDS, _("Check the action."))
    locked = _lock(project)
    if not can_edit_project(actor, locked):
        raise Forbidden(_("Only the project's owner or an administrator can change it."))
    if locked.phase == Phase.CLOSED:
        raise Conflict(_("The project is closed."))
    clean, errors = _clean_action(actor, data, today or timezone.localdate())
    if errors:
        raise ValidationFailed(_("Check the action."), field_errors=errors)
    action = Action.objects.create(project=locked, **clean)
    Project.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
    record_event(
        actor=actor,
        verb="improvement.action.created",
        target=locked,
        data={"action": action.pk, "description": action.description, "owner": action.owner_id},
        related=[action.owner],
    )
    return action


@transaction.atomic
def action_update(
    *, actor: User, action: Action, today: dt.date | None = None, **changes: Unpack[ActionChanges]
) -> Action:
    """Change an action (a key left out keeps its value; ``None`` clears a date). Keeping
    the owner needs no assign right."""
    refuse_unknown_fields(changes, ACTION_FIELDS, _("Check the action."))
    locked = _lock(action.project)
    if not can_edit_project(actor, locked):
        raise Forbidden(_("Only the project's owner or an administrator can change it."))
    if locked.phase == Phase.CLOSED:
        raise Conflict(_("The project is closed."))
    row = Action.objects.select_related("owner").get(pk=action.pk)
    before = {"description": row.description, "owner_id": row.owner_id, "due_on": row.due_on, "done_on": row.done_on}
    clean, errors = _clean_action(actor, {**before, **changes}, today or timezone.localdate())
    if changes.get("owner_id", row.owner_id) == row.owner_id:
        errors.pop("owner_id", None)
        clean["owner"] = row.owner
    if errors:
        raise ValidationFailed(_("Check the action."), field_errors=errors)
    after = {
        "description": clean["description"],
        "owner_id": clean["owner"].pk,
        "due_on": clean["due_on"],
        "done_on": clean["done_on"],
    }
    diff = changed_fields(before, after)
    if not diff:
        return row
    row.description, row.owner, row.due_on, row.done_on = (
        clean["description"],
        clean["owner"],
        clean["due_on"],
        clean["done_on"],
    )
    row.save()
    Project.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
    record_event(
        actor=actor, verb="improvement.action.updated", target=locked, data={"action": row.pk, "changes": diff}
    )
    return row


__all__ = [
    "NodeKind",
    "action_create",
    "action_update",
    "project_advance",
    "project_control_check",
    "project_create",
    "project_measure_baseline",
    "project_update",
]
