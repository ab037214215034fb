"""Pages of the dashboards (issue 10 item 5): the page shell (filters, one card per chart loaded
by htmx after the page), each chart's fragment (chart + table view), its CSV/XLSX export and
the records behind a figure. Thin: filters from ``analytics.forms.AnalysisFilterForm``, data
from ``dashboards.cache`` / ``dashboards.charts``, records from ``dashboards.records``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, cast

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from salesflow.analytics.forms import AnalysisFilterForm, AnalysisFilters
from salesflow.billing.permissions import sees_no_money
from salesflow.dashboards.cache import chart_data
from salesflow.dashboards.charts import CHARTS, widest_node_key
from salesflow.dashboards.exports import export_chart
from salesflow.dashboards.records import RecordsForm, records_behind
from salesflow.users.models import User

PER_PAGE = 50


def _local_time(iso: str) -> str:
    """``HH:MM`` in the company time zone of a stored ISO timestamp."""
    from datetime import datetime

    try:
        return timezone.localtime(datetime.fromisoformat(iso)).strftime("%H:%M")
    except (TypeError, ValueError):
        return ""


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _analysis(request: HttpRequest, **override: str) -> tuple[AnalysisFilterForm, AnalysisFilters | None]:
    data = request.GET.copy()
    for k, v in override.items():
        data[k] = v
    if not data.get("node"):
        data["node"] = widest_node_key(_user(request))
    form = AnalysisFilterForm(data, user=_user(request))
    if not form.is_valid():
        if "node" in form.errors:  # a node the reader may not see (or no node at all): 404
            raise Http404
        return form, None
    return form, form.analysis()


@require_GET
def dashboard_view(request: HttpRequest) -> HttpResponse:
    """The manager dashboard (the widest node the reader sees) or, for a rep node, the rep's."""
    return _dashboard(request)


@require_GET
def rep_dashboard_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """A rep's dashboard (404 unless the reader may see that person)."""
    return _dashboard(request, node=f"rep:{user_id}")


def _dashboard(request: HttpRequest, **override: str) -> HttpResponse:
    form, a = _analysis(request, **override)
    if a is None:
        return render(request, "dashboards/dashboard.html", {"form": form, "charts": []}, status=400)
    qs = a.query_string()
    charts = [
        {
            "key": key,
            "url": reverse("dashboards:chart", args=[key]) + "?" + qs,
            "wide": key in ("attainment", "top_deals", "activity"),
        }
        for key in CHARTS
        if not (a.node.kind == "rep" and key == "activity")
    ]
    context: dict[str, Any] = {
        "form": form,
        "analysis": a,
        "charts": charts,
        "is_rep": a.node.kind == "rep",
        "query": qs,
        "refresh_url": reverse("dashboards:refresh") + "?" + qs,
    }
    return render(request, "dashboards/dashboard.html", context)


def _chart_or_404(chart: str) -> str:
    if chart not in CHARTS:
        raise Http404
    return chart


@require_GET
def chart_view(request: HttpRequest, chart: str) -> HttpResponse:
    """One chart's card body (loaded by htmx): the chart, its table view and export links."""
    chart = _chart_or_404(chart)
    _form, a = _analysis(request)
    if a is None:
        return HttpResponseBadRequest(_("Check the filters."))
    data = chart_data(chart, a, timezone.localdate(), reader=_user(request))
    qs = a.query_string()
    context = {
        "chart": data,
        "element_id": f"chart-data-{chart}",
        "computed_at": _local_time(data.get("computed_at", "")),
        "csv_url": reverse("dashboards:export", args=[chart]) + "?" + qs + "&format=csv",
        "xlsx_url": reverse("dashboards:export", args=[chart]) + "?" + qs + "&format=xlsx",
        "rows": list(zip(data["rows"], data["row_links"] or [""] * len(data["rows"]), strict=False)),
    }
    return render(request, "dashboards/partials/chart.html", context)


@require_GET
def chart_export_view(request: HttpRequest, chart: str) -> HttpResponseBase:
    """The chart's table as CSV or XLSX (exactly the table view's rows)."""
    chart = _chart_or_404(chart)
    fmt = request.GET.get("format", "xlsx")
    if fmt not in ("csv", "xlsx"):
        return HttpResponseBadRequest(_("Choose csv or xlsx."))
    _form, a = _analysis(request)
    if a is None:
        return HttpResponseBadRequest(_("Check the filters."))
    data = chart_data(chart, a, timezone.localdate(), reader=_user(request))
    directory = Path(tempfile.mkdtemp(prefix="dashboard-export-"))
    path = directory / f"{chart}.{fmt}"
    export_chart(data, fmt, path)
    filename = f"{chart}-{a.period.key}.{fmt}"
    return FileResponse(path.open("rb"), as_attachment=True, filename=filename)


@require_POST
def refresh_view(request: HttpRequest) -> HttpResponse:
    """Recompute this dashboard's charts now (the reader's filters), then show it again."""
    _form, a = _analysis(request)
    if a is None:
        return HttpResponseBadRequest(_("Check the filters."))
    today = timezone.localdate()
    for key in CHARTS:
        chart_data(key, a, today, reader=None, fresh=True)  # recomputed for the snapshot only
    return redirect(reverse("dashboards:index") + "?" + a.query_string())


@require_GET
def records_view(request: HttpRequest) -> HttpResponse:
    """The records behind a figure, with the same filters, narrowed to what the reader sees."""
    form, a = _analysis(request)
    extra = RecordsForm(request.GET)
    if a is None or not extra.is_valid():
        return render(request, "dashboards/records.html", {"form": form, "extra": extra, "page": None}, status=400)
    behind = records_behind(_user(request), a, extra.cleaned_data, timezone.localdate())
    qs = behind.qs
    if behind.kind == "opportunity":
        qs = qs.select_related("account", "owner", "stage").order_by("-amount", "pk")
    elif behind.kind == "activity":
        qs = qs.select_related("owner", "account").order_by("-done_at", "pk")
    elif behind.kind == "payment":
        qs = qs.select_related("owner", "account").order_by("-received_on", "pk")
    else:
        qs = qs.select_related("owner").order_by("name", "pk")
    paginator = Paginator(qs, PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "form": form,
        "analysis": a,
        "behind": behind,
        "page": page,
        "total": paginator.count,
        "kind": behind.kind,
        "query": params.urlencode(),
        "back_url": reverse("dashboards:index") + "?" + a.query_string(),
        "extra": extra.cleaned_data,
        "show_money": not sees_no_money(_user(request)),
    }
    return render(request, "dashboards/records.html", context)
