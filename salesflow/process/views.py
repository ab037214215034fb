"""Pages of process intelligence (issue 11 item 4): ``/process/`` (time in stage, conversion,
first-pass yield, regression, throughput, WIP and Little's law, bottlenecks, the cycle-time
control chart) and ``/process/control/`` (control charts). Thin: filters from
``process.forms``, data from ``process.pages`` (snapshots of ``process.selectors``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from salesflow.core.periods import period_containing
from salesflow.dashboards.charts import widest_node_key
from salesflow.process.forms import ROLLING_DAYS, ROLLING_KEY, ControlFilterForm, ProcessFilterForm
from salesflow.process.pages import cached
from salesflow.users.models import User


def _local(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return timezone.localtime(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return ""


def _form(request: HttpRequest, cls: type[ProcessFilterForm], **defaults: str) -> ProcessFilterForm:
    user = cast(User, request.user)
    data = request.GET.copy()
    if not data.get("node"):
        data["node"] = widest_node_key(user)
    for k, v in defaults.items():
        if not data.get(k):
            data[k] = v
    form = cls(data, user=user)
    if not form.is_valid() and "node" in form.errors:  # a node the reader may not see
        raise Http404
    return form


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _rows(chart: dict[str, Any]) -> list[tuple[list[Any], str]]:
    return [(r, "") for r in chart["rows"]]


@require_GET
def process_view(request: HttpRequest) -> HttpResponse:
    form = _form(request, ProcessFilterForm)
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        return render(request, "process/process.html", context, status=400)
    f = form.process()
    data = cached("summary", f)
    summary = data["summary"]
    by = f.by
    context.update(
        filters=f,
        summary=summary,
        charts=[{"chart": c, "rows": _rows(c)} for c in data["charts"]],
        control=data["control"],
        control_rows=_rows(data["control"]["chart"]),
        group_rows=summary["groups"].get(by, []),
        by_label=dict(form.fields["by"].choices).get(by, by),  # type: ignore[attr-defined]
        computed_at=_local(data.get("computed_at")),
        facts_at=_local(data.get("facts_at")),
        # a control chart needs many weekly points: the link opens the year around the period
        control_query=f.analysis.query_string(period=period_containing("year", f.analysis.period.end).key),
        fpy=_pct(summary["first_pass_yield"]),
        rolling_days=ROLLING_DAYS if f.analysis.period.key == ROLLING_KEY else None,
        win_pct=_pct(summary["win_rate"]),
    )
    return render(request, "process/process.html", context)


@require_GET
def control_view(request: HttpRequest) -> HttpResponse:
    form = _form(request, ControlFilterForm, period=str(timezone.localdate().year))
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        return render(request, "process/control.html", context, status=400)
    f = form.process()
    data = cached("control", f)
    context.update(
        filters=f,
        controls=[{**c, "rows": _rows(c["chart"])} for c in data["controls"]],
        computed_at=_local(data.get("computed_at")),
        facts_at=_local(data.get("facts_at")),
    )
    return render(request, "process/control.html", context)
