"""Pages of ``salesflow.improvement``: the project list, a project's page (problem,
baseline, actions, before/after chart, the tests, the control chart), and the forms to open
and change a project, record actions and move phases. Thin views over selectors and
services; an unseen project is 404, a visible one the reader may not change is 403."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesflow.core.errors import Forbidden, ServiceError
from salesflow.core.web import apply_service_error
from salesflow.dashboards.cache import chart_dict
from salesflow.improvement.forms import ActionForm, AdvanceForm, ProjectForm
from salesflow.improvement.models import PHASE_ORDER, Action, Phase
from salesflow.improvement.selectors import (
    can_create_projects,
    can_edit_project,
    node_names,
    project_for_user,
    project_list,
    project_report,
)
from salesflow.improvement.services import (
    action_create,
    action_update,
    project_advance,
    project_create,
    project_measure_baseline,
    project_update,
)
from salesflow.users.models import User


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@require_GET
def list_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    phase = request.GET.get("phase", "")
    if phase not in PHASE_ORDER:
        phase = ""
    projects = list(project_list(user, phase=phase)[:200])
    names = node_names(projects)
    rows = [(p, names.get(p.node_key, "")) for p in projects]
    context = {
        "rows": rows,
        "phase": phase,
        "phases": Phase.choices,
        "can_create": can_create_projects(user),
        "section": "improvement",
    }
    return render(request, "improvement/list.html", context)


def fmt_value(rate: bool, value: float | None) -> str:
    """A figure in the metric's display unit: a percentage for rates, days to one decimal."""
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if rate else f"{value:.1f}"


def fmt_p(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def verdict(test: Any) -> str:
    """The honest label of a test result."""
    if test.p_value is None:
        return _("Too few cases to test (n = %(a)d before, %(b)d after)") % {"a": test.n_a, "b": test.n_b}
    if test.significant:
        return _("Significant (p < 0.05)")
    return _("Not significant: the difference may be chance")


@require_GET
def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    project = project_for_user(user, pk)
    report = project_report(project)
    names = node_names([project])
    editable = can_edit_project(user, project)
    index = PHASE_ORDER.index(project.phase)
    next_phase = PHASE_ORDER[index + 1] if index + 1 < len(PHASE_ORDER) else None
    rate = report.rate
    change_rows = [
        {
            "action": r.action,
            "n_after": r.after.n,
            "level_after": fmt_value(rate, r.after.mean if rate else r.after.p50),
            "p80_after": fmt_value(rate, r.after.p80),
            "difference": "—"
            if r.test.difference is None
            else (f"{r.test.difference * 100:+.1f} pp" if rate else f"{r.test.difference:+.1f}"),
            "p_value": fmt_p(r.test.p_value),
            "n_before": r.test.n_a,
            "significant": r.test.significant,
            "verdict": verdict(r.test),
        }
        for r in report.changes
    ]
    control = report.control
    context = {
        "project": project,
        "report": report,
        "change_rows": change_rows,
        "baseline": {
            "n": project.baseline_n,
            "mean": fmt_value(rate, project.baseline_mean),
            "p50": fmt_value(rate, project.baseline_p50),
            "p80": fmt_value(rate, project.baseline_p80),
        },
        "target": fmt_value(rate, float(project.target_value)),
        "limits": None
        if control is None
        else {
            "centre": fmt_value(rate, control.centre),
            "ucl": fmt_value(rate, control.ucl),
            "lcl": fmt_value(rate, control.lcl),
            "sigma": fmt_value(rate, control.sigma),
            "n": control.n,
            "drifts": [
                {"day": d.day, "value": fmt_value(rate, d.value), "rules": ", ".join(str(x) for x in d.rules)}
                for d in control.drifts
            ],
        },
        "node_name": names.get(project.node_key, ""),
        "actions": report.actions,
        "results": {r.action.pk: r for r in report.changes},
        "before_after": chart_dict(report.before_after),
        "control_chart": chart_dict(report.control_chart) if report.control_chart else None,
        "editable": editable and project.phase != Phase.CLOSED,
        "next_phase": next_phase,
        "next_phase_label": Phase(next_phase).label if next_phase else "",
        "phases": Phase.choices,
        "phase_index": index,
        "action_form": ActionForm(user=user, initial={"owner_id": project.owner_id}) if editable else None,
        "advance_form": AdvanceForm(initial={"to_phase": next_phase}) if next_phase else None,
        "section": "improvement",
    }
    return render(request, "improvement/detail.html", context)


@require_http_methods(["GET", "POST"])
def create_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not can_create_projects(user):
        raise Forbidden(_("Only managers and administrators open improvement projects."))
    today = timezone.localdate()
    initial = {
        "baseline_start": today.replace(year=today.year - 1) if not (today.month == 2 and today.day == 29) else today,
        "baseline_end": today,
        "owner_id": user.pk,
    }
    form = ProjectForm(request.POST or None, user=user, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                project = project_create(actor=user, **form.service_data())
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Project opened; its baseline was measured."))
                return redirect("improvement:detail", pk=project.pk)
        status = 400
    return render(
        request, "improvement/form.html", {"form": form, "project": None, "section": "improvement"}, status=status
    )


@require_http_methods(["GET", "POST"])
def edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    project = project_for_user(user, pk)
    if not can_edit_project(user, project):
        raise Forbidden(_("Only the project's owner or an administrator can change it."))
    initial = {
        "title": project.title,
        "problem": project.problem,
        "metric_key": project.metric_key,
        "pipeline_id": project.pipeline_id,
        "stage_id": project.stage_id,
        "node": project.node_key,
        "industry": project.industry,
        "size": project.size,
        "target_value": project.target_value,
        "baseline_start": project.baseline_start,
        "baseline_end": project.baseline_end,
        "owner_id": project.owner_id,
    }
    form = ProjectForm(request.POST or None, user=user, project=project, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            changes: dict[str, Any] = {k: v for k, v in form.service_data().items() if initial.get(k) != v}
            try:
                project_update(actor=user, project=project, **changes)
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Project saved."))
                return redirect("improvement:detail", pk=project.pk)
        status = 400
    return render(
        request, "improvement/form.html", {"form": form, "project": project, "section": "improvement"}, status=status
    )


@require_POST
def action_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    project = project_for_user(user, pk)
    if not can_edit_project(user, project):
        raise Forbidden(_("Only the project's owner or an administrator can change it."))
    form = ActionForm(request.POST, user=user)
    if form.is_valid():
        try:
            action_create(actor=user, project=project, **form.cleaned_data)
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Action recorded."))
            return redirect("improvement:detail", pk=project.pk)
    for field, errors in form.errors.items():
        for error in errors:
            messages.error(request, f"{form.fields[field].label if field in form.fields else ''} {error}".strip())
    return redirect("improvement:detail", pk=project.pk)


@require_POST
def action_done_view(request: HttpRequest, pk: int, action_id: int) -> HttpResponse:
    """Mark an action done today (its change date)."""
    user = _user(request)
    project = project_for_user(user, pk)
    action = Action.objects.filter(project=project, pk=action_id).first()
    if action is None:
        raise Http404
    try:
        action_update(actor=user, action=action, done_on=timezone.localdate())
    except ServiceError as exc:
        if isinstance(exc, Forbidden):
            raise
        messages.error(request, str(exc.message))
    return redirect("improvement:detail", pk=project.pk)


@require_POST
def advance_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    project = project_for_user(user, pk)
    form = AdvanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the phase."))
        return redirect("improvement:detail", pk=project.pk)
    try:
        project_advance(
            actor=user,
            project=project,
            to_phase=form.cleaned_data["to_phase"],
            limits_through=form.cleaned_data.get("limits_through"),
        )
    except ServiceError as exc:
        if isinstance(exc, Forbidden):
            raise
        text = [str(exc.message), *(m for ms in exc.field_errors.values() for m in ms)]
        messages.error(request, " ".join(text))
    else:
        messages.success(request, _("Phase changed."))
    return redirect("improvement:detail", pk=project.pk)


@require_POST
def measure_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    project = project_for_user(user, pk)
    project_measure_baseline(actor=user, project=project)
    messages.success(request, _("Baseline measured again."))
    return redirect(reverse("improvement:detail", args=[project.pk]))
