"""Pages of ``salesflow.achievable`` (namespace ``achievable``): the likely-revenue page (the
headline P10/P50/P90, the distribution, the stages and the calibration report), its
recompute button and the CSV/XLSX export of each chart's table. Thin: filters from
``forms``, figures from ``services`` and ``figures``.

The page never simulates in the request (``services.read_likely_revenue``): stale figures are
shown marked with their computed time while a background refresh runs; before the first
simulation a "computing" card polls ``achievable:status`` (htmx) which reloads the page once
the figures are stored."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, cast

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from salesflow.achievable import figures
from salesflow.achievable.forms import LikelyRevenueForm
from salesflow.achievable.selectors import snapshot
from salesflow.achievable.services import Span, current_calibration, likely_revenue, period_of, read_likely_revenue
from salesflow.analytics.selectors import Node, node_for_user
from salesflow.billing.permissions import sees_no_money
from salesflow.core.errors import Forbidden
from salesflow.dashboards.cache import chart_dict
from salesflow.dashboards.exports import export_chart
from salesflow.users.models import User

CHARTS = ("distribution", "reliability", "stages")


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _filters(request: HttpRequest, data: Any) -> tuple[LikelyRevenueForm, Node | None, Span]:
    """The form, the node (``Http404`` when unseen) and the span; ``Forbidden`` for a reader
    who sees no money (support)."""
    user = _user(request)
    if sees_no_money(user):
        raise Forbidden(_("Revenue figures are not shown to your role."))
    form = LikelyRevenueForm(data, user=user)
    if not form.is_valid():
        if "node" in form.errors:  # a node the reader may not see: 404, like node_for_user
            raise Http404
        return form, None, "month"
    return form, node_for_user(user, form.cleaned_data["node"]), cast(Span, form.cleaned_data["span"])


def _query(node: Node, span: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"node": node.key, "span": span})


def _charts(snap: Any, cal: Any) -> dict[str, Any]:
    return {
        "distribution": figures.distribution_chart(snap),
        "reliability": figures.reliability_chart(cal),
        "stages": figures.stage_chart(snap),
    }


@require_GET
def page_view(request: HttpRequest) -> HttpResponse:
    """The likely revenue of the chosen node for this month or quarter."""
    form, node, span = _filters(request, request.GET)
    if node is None:
        return render(request, "achievable/page.html", {"form": form}, status=400)
    reading = read_likely_revenue(node, span)
    snap = reading.snapshot
    qs = _query(node, span)
    if snap is None:
        context = {"form": form, "node": node, "span": span, "status_url": reverse("achievable:status") + "?" + qs}
        return render(request, "achievable/page.html", context)
    cal = current_calibration()
    cards = []
    for key, chart in _charts(snap, cal).items():
        data = chart_dict(chart)
        base = reverse("achievable:export", args=[key]) + "?" + qs
        cards.append(
            {
                "key": key,
                "chart": data,
                "element_id": f"achievable-chart-{key}",
                "csv_url": base + "&format=csv",
                "xlsx_url": base + "&format=xlsx",
                "rows": [(row, "") for row in data["rows"]],
            }
        )
    context = {
        "form": form,
        "node": node,
        "span": span,
        "figures": figures.headline(snap),
        "cards": cards,
        "calibration": cal,
        "computed_at": timezone.localtime(snap.computed_at).strftime("%Y-%m-%d %H:%M"),
        "stale": reading.stale,
        "calibration_at": timezone.localtime(cal.computed_at).strftime("%Y-%m-%d %H:%M"),
        "recompute_url": reverse("achievable:recompute") + "?" + qs,
    }
    return render(request, "achievable/page.html", context)


@require_GET
def status_view(request: HttpRequest) -> HttpResponse:
    """Polled by the "computing" card: 204 while no figures are stored for the node and
    span, then 200 with ``HX-Refresh`` so htmx reloads the page (which shows them)."""
    _form, node, span = _filters(request, request.GET)
    if node is None:
        return HttpResponseBadRequest(_("Check the filters."))
    if snapshot(node.key, period_of(span, timezone.localdate()).key) is None:
        return HttpResponse(status=204)
    response = HttpResponse("")
    response["HX-Refresh"] = "true"
    return response


@require_POST
def recompute_view(request: HttpRequest) -> HttpResponse:
    """Simulate the node's period again now, then show the page."""
    _form, node, span = _filters(request, request.GET)
    if node is None:
        return HttpResponseBadRequest(_("Check the filters."))
    likely_revenue(node, span, fresh=True)
    return redirect(reverse("achievable:page") + "?" + _query(node, span))


@require_GET
def export_view(request: HttpRequest, chart: str) -> HttpResponseBase:
    """A chart's table as CSV or XLSX (exactly the table view's rows)."""
    if chart not in CHARTS:
        raise Http404
    fmt = request.GET.get("format", "xlsx")
    if fmt not in ("csv", "xlsx"):
        return HttpResponseBadRequest(_("Choose csv or xlsx."))
    _form, node, span = _filters(request, request.GET)
    if node is None:
        return HttpResponseBadRequest(_("Check the filters."))
    snap = likely_revenue(node, span)
    data = chart_dict(_charts(snap, current_calibration())[chart])
    path = Path(tempfile.mkdtemp(prefix="likely-revenue-")) / f"{chart}.{fmt}"
    export_chart(data, fmt, path)
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"{chart}-{snap.period_key}.{fmt}")
