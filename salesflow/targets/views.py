"""Pages of sales plans and targets (namespace ``targets``): thin over the services and
selectors. Administrators and managers write; everyone reads the nodes they may see."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from salesflow.analytics.forms import AnalysisFilterForm
from salesflow.core.errors import ServiceError
from salesflow.core.periods import fiscal_year_of, parse_period
from salesflow.targets import services
from salesflow.targets.forms import AllocateForm, NotesForm, PlanCreateForm, SeasonalityForm
from salesflow.targets.models import PlanVersion, SalesPlan, VersionStatus
from salesflow.targets.selectors import (
    OrgTree,
    attainment_page,
    grid_periods,
    leaderboard,
    leaderboard_team,
    plan_grid,
    plan_metric,
    plan_metrics,
    plans_for,
    tree_nodes,
    without_money,
)
from salesflow.users.models import User


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _error(request: HttpRequest, exc: ServiceError) -> None:
    details = [m for msgs in exc.field_errors.values() for m in msgs]
    messages.error(request, " ".join([str(exc.message), *details]))


@require_GET
def plan_list_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "targets/plan_list.html",
        {
            "plans": plans_for(user),
            "can_plan": services.can_plan(user),
            "form": PlanCreateForm(initial={"year": fiscal_year_of(timezone.localdate())}),
        },
    )


@require_POST
def plan_create_view(request: HttpRequest) -> HttpResponse:
    form = PlanCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a fiscal year 2000–2100."))
        return redirect("targets:list")
    try:
        plan = services.plan_create(actor=_user(request), year=form.cleaned_data["year"])
    except ServiceError as exc:
        _error(request, exc)
        return redirect("targets:list")
    messages.success(request, _("The plan was created."))
    return redirect("targets:plan", year=plan.year)


def _plan_and_version(request: HttpRequest, year: int) -> tuple[SalesPlan, PlanVersion, list[PlanVersion]]:
    plan = SalesPlan.objects.filter(year=year).first()
    if plan is None:
        raise Http404("plan")
    versions = list(plan.versions.select_related("plan", "submitted_by", "approved_by").order_by("-number"))
    wanted = request.GET.get("version") or request.POST.get("version") or ""
    version = next((v for v in versions if wanted.isdigit() and v.number == int(wanted)), versions[0])
    return plan, version, versions


@require_GET
def plan_view(request: HttpRequest, year: int) -> HttpResponse:
    user = _user(request)
    plan, version, versions = _plan_and_version(request, year)
    metrics = plan_metrics()
    metric_key = request.GET.get("metric", "won_revenue")
    metric = plan_metric(metric_key[:40]) or metrics[0]
    columns = "months" if request.GET.get("columns") == "months" else "quarters"
    rows = plan_grid(user, version, metric.key, columns)
    goal_rows = []
    from salesflow.analytics.selectors import Node
    from salesflow.core.periods import year_period
    from salesflow.targets.selectors import TargetBook

    org = OrgTree()
    for m in metrics:
        book = TargetBook.load(version, m.key, org)
        goal_rows.append((m, book.value(Node("company"), year_period(plan.year))))
    can_edit = services.can_plan(user) and version.status == VersionStatus.DRAFT
    context: dict[str, Any] = {
        "plan": plan,
        "version": version,
        "versions": versions,
        "metrics": metrics,
        "metric": metric,
        "columns": columns,
        "periods": grid_periods(plan.year, columns),
        "rows": rows,
        "goal_rows": goal_rows,
        "can_plan": services.can_plan(user),
        "can_edit": can_edit,
        "can_approve": version.status == VersionStatus.SUBMITTED
        and version.approval_request_id is None
        and services.can_approve(user, version),
        "can_return": version.status == VersionStatus.SUBMITTED
        and version.approval_request_id is None
        and (services.can_approve(user, version) or version.submitted_by_id == user.pk),
        "can_revise": services.can_plan(user) and all(v.status == VersionStatus.LOCKED for v in versions),
        "notes_form": NotesForm(initial={f: getattr(version, f) for f in services.NOTE_FIELDS}),
        "nodes": tree_nodes(user, org),
        "months": [p for p in grid_periods(plan.year, "months")[1:]],
        "weights": (version.seasonality or {}).get("company") or [],
        "allocate_form": AllocateForm(),
    }
    return render(request, "targets/plan.html", context)


def _back(year: int, version: PlanVersion, request: HttpRequest) -> str:
    query = f"?version={version.number}"
    for key in ("metric", "columns"):
        value = request.POST.get(key, "")
        if value and len(value) <= 40 and value.replace(":", "").replace("_", "").replace("-", "").isalnum():
            query += f"&{key}={value}"
    return reverse("targets:plan", args=[year]) + query


@require_POST
def plan_action_view(request: HttpRequest, year: int, action: str) -> HttpResponse:
    user = _user(request)
    plan, version, _versions = _plan_and_version(request, year)
    try:
        if action == "submit":
            version = services.plan_version_submit(actor=user, version=version)
            messages.success(request, _("The plan was submitted."))
        elif action == "approve":
            version = services.plan_version_approve(actor=user, version=version)
            messages.success(request, _("The plan was approved and locked."))
        elif action == "return":
            version = services.plan_version_return(
                actor=user, version=version, comment=request.POST.get("comment", "")[:1000]
            )
            messages.success(request, _("The plan was returned to draft."))
        elif action == "revise":
            version = services.plan_version_revise(actor=user, plan=plan)
            messages.success(request, _("A new draft version was created."))
        elif action == "notes":
            form = NotesForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Check the strategy notes."))
            else:
                services.plan_version_update_notes(actor=user, version=version, notes=form.cleaned_data)
                messages.success(request, _("The strategy notes were saved."))
        elif action == "cells":
            _save_cells(request, user, version)
        elif action == "allocate":
            allocate_form = AllocateForm(request.POST)
            if not allocate_form.is_valid():
                messages.error(request, _("Choose how to allocate."))
            else:
                form_data = allocate_form.cleaned_data
                n = services.targets_allocate(
                    actor=user,
                    version=version,
                    metric_key=request.POST.get("metric", "won_revenue")[:40],
                    node_key=form_data["node"],
                    period_key=form_data["period"],
                    along=form_data["along"],
                    basis=form_data["basis"] or "last_year",
                    cascade=form_data["cascade"],
                )
                messages.success(request, _("%(n)s targets were allocated.") % {"n": n})
        elif action == "seasonality":
            season_form = SeasonalityForm(request.POST)
            if not season_form.is_valid():
                messages.error(request, _("Enter 12 whole weights."))
            else:
                services.seasonality_set(
                    actor=user,
                    version=version,
                    node_key=season_form.cleaned_data["node"],
                    weights=season_form.weights(),
                    metric_key=request.POST.get("metric", "won_revenue")[:40],
                )
                messages.success(request, _("The seasonality was saved."))
        else:
            raise Http404("action")
    except ServiceError as exc:
        _error(request, exc)
    return redirect(_back(year, version, request))


def _save_cells(request: HttpRequest, user: User, version: PlanVersion) -> None:
    """The grid's inputs are named ``cell:<node>:<period>`` (``cell:team:3:2026-Q1``); only
    changed cells are written (an emptied stored cell is removed)."""
    metric = request.POST.get("metric", "won_revenue")[:40]
    cells: list[tuple[object, object, object]] = []
    for name in request.POST:
        raw = request.POST.get(name, "")
        if not name.startswith("cell:") or len(name) > 100:
            continue
        node_key, _sep, period_key = name[5:].rpartition(":")
        old = request.POST.get("old:" + name[5:], "")
        if raw.strip() == old.strip():
            continue
        cells.append((node_key, period_key, raw.strip() or None))
    if cells:
        services.targets_set(actor=user, version=version, metric_key=metric, cells=cells)
    messages.success(request, _("%(n)s targets were saved.") % {"n": len(cells)})


def _analysis(request: HttpRequest) -> tuple[AnalysisFilterForm, Any]:
    data = QueryDict(mutable=True)
    for key in ("period", "node", "pipeline", "product_line", "region", "source"):
        if key in request.GET:
            data[key] = request.GET[key]
    form = AnalysisFilterForm(data, user=_user(request))
    if not form.is_valid():
        if "node" in form.errors:
            raise Http404("node")
        form = AnalysisFilterForm(QueryDict(), user=_user(request))
        form.is_valid()
        messages.error(request, _("Check the filters."))
    return form, form.analysis()


@require_GET
def attainment_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form, analysis = _analysis(request)
    metric_key = request.GET.get("metric", "won_revenue")[:40]
    metric = plan_metric(metric_key) or plan_metrics()[0]
    page = attainment_page(user, analysis, metric.key)
    metrics = plan_metrics()
    by_key = {m.key: m for m in metrics}
    rows = [(_display(r), by_key[r["metric"]]) for r in page["metrics"]]
    return render(
        request,
        "targets/attainment.html",
        {
            "form": form,
            "analysis": analysis,
            "rows": rows,
            "children": [_display(r) for r in page["children"]],
            "metric": metric,
            "metrics": metrics,
        },
    )


def _display(row: dict[str, Any]) -> dict[str, Any]:
    """An API row with Decimals back for the template filters, and the ratio as a percent."""
    out = dict(row)
    for key in ("target", "actual", "expected", "gap", "projection"):
        if key in out:
            out[key] = None if out[key] is None else Decimal(out[key])
    out["target_value"] = out.get("target")
    out["actual_value"] = out.get("actual")
    out["percent"] = None if out.get("ratio") is None else (Decimal(out["ratio"]) * 100).quantize(Decimal("0.1"))
    return out


@require_GET
def leaderboard_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    team = leaderboard_team(user, request.GET.get("team", "")[:20])
    raw = request.GET.get("period", "")[:20]
    try:
        period = parse_period(raw) if raw else None
    except ValueError:
        period = None
    if period is None:
        from salesflow.core.periods import period_containing

        period = period_containing("month", timezone.localdate())
    metric = plan_metric(request.GET.get("metric", "won_revenue")[:40]) or plan_metrics()[0]
    from salesflow.analytics.selectors import visible_team_ids
    from salesflow.users.models import Team

    allowed = visible_team_ids(user)
    teams = (
        Team.objects.order_by("name")
        if allowed is None
        else Team.objects.filter(pk__in=allowed | ({user.team_id} if user.team_id else set())).order_by("name")
    )
    return render(
        request,
        "targets/leaderboard.html",
        {
            "team": team,
            "teams": teams,
            "period": period,
            "metric": metric,
            "metrics": plan_metrics(),
            "rows": [_display(r) for r in without_money(user, leaderboard(team, metric.key, period), metric.key)],
        },
    )
