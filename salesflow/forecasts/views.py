"""Pages of forecast submissions (销售预测): my forecast (the submit form, pre-filled from the
deals), the team roll-up (each member's latest submission, the sums, the manager's adjusted
figure and the history), accuracy, and what changed (the pipeline waterfall). Thin views over
``selectors`` and ``services``; filters are ``forms.FilterForm``; support sees no money (404)."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from salesflow.analytics.selectors import Node, node_owner_ids_now, nodes_visible_to
from salesflow.billing.permissions import sees_no_money
from salesflow.core.errors import ServiceError
from salesflow.core.money import company_currency
from salesflow.core.periods import Period, period_containing
from salesflow.core.web import apply_service_error
from salesflow.dashboards.cache import chart_dict
from salesflow.dashboards.exports import export_chart
from salesflow.forecasts.charts import waterfall_chart
from salesflow.forecasts.forms import FiguresForm, FilterForm, Filters
from salesflow.forecasts.models import ForecastEntry
from salesflow.forecasts.selectors import (
    BAR_KEYS,
    SELLING_ROLES,
    accuracy,
    bar_labels,
    can_adjust,
    can_submit_for,
    day_start,
    history,
    load_tree,
    past_periods,
    rollup,
    suggested_by_owner,
    waterfall,
)
from salesflow.forecasts.services import forecast_adjust, forecast_submit
from salesflow.sales.models import Opportunity
from salesflow.users.choices import Role
from salesflow.users.models import User

DRILL_LIMIT = 200


def _user(request: HttpRequest) -> User:
    user = cast(User, request.user)
    if sees_no_money(user):
        raise Http404
    return user


def _period_choices(today: Any, current: Period) -> list[Period]:
    """This month and the next two, this quarter and the next (and the chosen one)."""
    month = period_containing("month", today)
    quarter = period_containing("quarter", today)
    out = [month]
    for _i in range(2):
        out.append(period_containing("month", out[-1].end + timedelta(days=1)))
    out += [quarter, period_containing("quarter", quarter.end + timedelta(days=1))]
    if current not in out:
        out.insert(0, current)
    return out


def _filters(request: HttpRequest, user: User) -> tuple[FilterForm, Filters | None]:
    form = FilterForm(request.GET, user=user)
    return form, (form.filters() if form.is_valid() else None)


def _context(request: HttpRequest, user: User, form: FilterForm, f: Filters | None, tab: str) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "filter_form": form,
        "f": f,
        "tab": tab,
        "nodes": nodes_visible_to(user),
        "periods": _period_choices(today, f.period) if f else [],
        "section": "forecasts",
        "currency": company_currency(),
    }


@require_http_methods(["GET", "POST"])
def mine_view(request: HttpRequest) -> HttpResponse:
    """The submit form of the reader's own forecast (an assistant: of a delegated rep,
    ``?rep=<id>``), pre-filled from the deals, with the latest submission and its history."""
    user = _user(request)
    today = timezone.localdate()
    reps: list[User] = []
    if user.role in SELLING_ROLES:
        reps.append(user)
    if user.role == Role.ASSISTANT:
        reps += list(user.delegated_reps.filter(is_active=True).order_by("display_name", "username"))
    rep: User | None = reps[0] if reps else None
    rep_param = request.GET.get("rep", "")
    if rep_param:
        rep = next((r for r in reps if str(r.pk) == rep_param), None)
        if rep is None:
            raise Http404
    data = request.GET.copy()
    data["node"] = f"rep:{rep.pk}" if rep else ""
    form = FilterForm(data, user=user)
    f = form.filters() if form.is_valid() else None
    context = _context(request, user, form, f, "mine")
    context.update({"rep": rep, "reps": reps, "rep_choice": len(reps) > 1})
    if rep is None or f is None:
        return render(request, "forecasts/mine.html", context, status=400 if f is None and rep else 200)
    suggestion = suggested_by_owner([rep.pk], f.period, today)
    suggested = suggestion.of(rep.pk)
    entries = list(
        ForecastEntry.objects.filter(period_key=f.period.key, node_key=f"rep:{rep.pk}")
        .select_related("author")
        .order_by("-revision")[:50]
    )
    latest = entries[0] if entries else None
    writable = can_submit_for(user, rep) and f.period.end >= today
    figures_form = FiguresForm(
        request.POST if request.method == "POST" else None,
        initial={"commit": suggested.commit, "best_case": suggested.best_case, "pipeline": suggested.pipeline},
    )
    status = 200
    if request.method == "POST":
        if not writable:
            raise Http404
        if figures_form.is_valid():
            d = figures_form.cleaned_data
            try:
                forecast_submit(
                    actor=user,
                    rep=rep,
                    period_key=f.period.key,
                    commit=d["commit"],
                    best_case=d["best_case"],
                    pipeline=d["pipeline"],
                    note=d["note"],
                )
            except ServiceError as exc:
                apply_service_error(figures_form, exc)
            else:
                messages.success(request, _("Forecast submitted."))
                extra = f"&rep={rep.pk}" if rep.pk != user.pk else ""
                return redirect(f"{reverse('forecasts:mine')}?period={f.period.key}{extra}")
        status = 400
    context.update(
        {
            "suggested": suggested,
            "missing_rates": sorted(suggestion.missing_rates),
            "latest": latest,
            "history_rows": [(e, "") for e in entries],
            "writable": writable,
            "figures_form": figures_form,
        }
    )
    return render(request, "forecasts/mine.html", context, status=status)


@require_http_methods(["GET", "POST"])
def rollup_view(request: HttpRequest) -> HttpResponse:
    """A level's roll-up: each person's latest submission and each child team's figures, the
    sums, the level's own adjusted figure (form for who may adjust) and the history."""
    user = _user(request)
    today = timezone.localdate()
    form, f = _filters(request, user)
    context = _context(request, user, form, f, "team")
    if f is None:
        return render(request, "forecasts/rollup.html", context, status=400)
    writable = f.node.kind != "rep" and can_adjust(user, f.node) and f.period.end >= today
    if request.method == "POST" and not writable:
        raise Http404
    grid = rollup(f.node, f.period, today)
    level = grid.level
    initial = level.figure
    adjust_form = FiguresForm(
        request.POST if request.method == "POST" else None,
        initial={"commit": initial.commit, "best_case": initial.best_case, "pipeline": initial.pipeline},
    )
    status = 200
    if request.method == "POST":
        if adjust_form.is_valid():
            d = adjust_form.cleaned_data
            try:
                forecast_adjust(
                    actor=user,
                    node=f.node,
                    period_key=f.period.key,
                    commit=d["commit"],
                    best_case=d["best_case"],
                    pipeline=d["pipeline"],
                    note=d["note"],
                )
            except ServiceError as exc:
                apply_service_error(adjust_form, exc)
            else:
                messages.success(request, _("Adjusted forecast saved."))
                return redirect(f"{reverse('forecasts:team')}?{f.query(since='')}")
        status = 400
    tree = load_tree()
    entries = history(f.node, f.period)
    labels = {e.node_key: _node_label(e.node_key, tree, f.node) for e in entries}
    context.update(
        {
            "grid": grid,
            "level": level,
            "rows": grid.rows,
            "writable": writable,
            "adjust_form": adjust_form,
            "entries": [(e, labels[e.node_key]) for e in entries],
            "missing_rates": sorted(grid.suggestion.missing_rates),
        }
    )
    return render(request, "forecasts/rollup.html", context, status=status)


def _node_label(key: str, tree: Any, node: Node) -> str:
    if key == node.key:
        return node.label
    kind, _sep, pk = key.partition(":")
    if kind == "team" and pk.isdigit() and int(pk) in tree.teams:
        return str(tree.teams[int(pk)].name)
    if kind == "rep" and pk.isdigit() and int(pk) in tree.people:
        return str(tree.people[int(pk)])
    return key


@require_GET
def accuracy_view(request: HttpRequest) -> HttpResponse:
    """Each level's forecast (commit) of past periods against the won revenue: error and
    absolute percentage error, and their mean per row."""
    user = _user(request)
    form, f = _filters(request, user)
    context = _context(request, user, form, f, "accuracy")
    if f is None:
        return render(request, "forecasts/accuracy.html", context, status=400)
    periods = past_periods(f.kind, timezone.localdate(), f.count)
    context["acc"] = accuracy(f.node, periods)
    return render(request, "forecasts/accuracy.html", context)


@require_GET
def changes_view(request: HttpRequest) -> HttpResponseBase:
    """The pipeline waterfall of the level's deals due in the period since a day (default a
    week ago), and the deals behind one bar (``?bar=``)."""
    user = _user(request)
    form, f = _filters(request, user)
    context = _context(request, user, form, f, "changes")
    if f is None:
        return render(request, "forecasts/changes.html", context, status=400)
    bar = request.GET.get("bar", "")
    if bar and bar not in BAR_KEYS:
        bar = ""
    owners = node_owner_ids_now(f.node)
    w = waterfall(owners, f.period, day_start(f.since), timezone.localdate())
    chart = waterfall_chart(w, f)
    fmt = request.GET.get("format", "")
    if fmt in ("csv", "xlsx"):
        directory = Path(tempfile.mkdtemp(prefix="forecast-export-"))
        path = directory / f"waterfall.{fmt}"
        export_chart(chart_dict(chart), fmt, path)
        return FileResponse(path.open("rb"), as_attachment=True, filename=f"waterfall-{f.period.key}.{fmt}")
    deals: list[tuple[Any, Any]] = []
    if bar:
        moves = w.deals(bar)[:DRILL_LIMIT]
        by_id = Opportunity.objects.select_related("owner", "stage").in_bulk([m.opportunity_id for m in moves])
        deals = [(m, by_id.get(m.opportunity_id)) for m in moves]
        context["bar_total"] = len(w.deals(bar))
    context.update(
        {
            "w": w,
            "chart": chart_dict(chart),
            "chart_rows": list(zip(chart.rows, chart.row_links, strict=True)),
            "bar": bar,
            "bar_label": bar_labels().get(bar, ""),
            "deals": deals,
            "drill_limit": DRILL_LIMIT,
            "csv_url": f"{reverse('forecasts:changes')}?{f.query(format='csv')}",
            "xlsx_url": f"{reverse('forecasts:changes')}?{f.query(format='xlsx')}",
            "computed_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
            "missing_rates": sorted(w.missing_rates),
        }
    )
    return render(request, "forecasts/changes.html", context)
