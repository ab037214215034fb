"""Pages of the win/loss drivers (issue 11 item 6): the page shell (filters; the figures load
by htmx after the page), the figures' fragment (one chart and table per attribute, the model's
odds ratios) and "Refresh figures". Thin: filters from ``analytics.forms.AnalysisFilterForm``
(an unseen node is 404), figures from ``winloss.cache``.

The fragment never computes: it shows the stored figures (stale ones marked, with their
computed time, while a background refresh runs) or, before the first computation, a
"computing" card that asks again every few seconds (htmx) until the figures are there."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from salesflow.analytics.forms import AnalysisFilterForm, AnalysisFilters
from salesflow.analytics.selectors import node_for_user
from salesflow.dashboards.charts import widest_node_key
from salesflow.users.models import User
from salesflow.winloss.cache import drivers_data, read
from salesflow.winloss.charts import driver_chart, model_chart, pct
from salesflow.winloss.labels import localize


def _analysis(request: HttpRequest) -> tuple[AnalysisFilterForm, AnalysisFilters | None]:
    """The cleaned filters; ``Http404`` for a node the reader may not see."""
    user = cast(User, request.user)
    data = request.GET.copy()
    if data.get("node"):
        node_for_user(user, str(data["node"]))  # unseen or malformed: 404
    else:
        data["node"] = widest_node_key(user)
    form = AnalysisFilterForm(data, user=user)
    if not form.is_valid():
        if "node" in form.errors:
            raise Http404
        return form, None
    return form, form.analysis()


def _local(iso: str) -> str:
    try:
        return timezone.localtime(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return ""


@require_GET
def index_view(request: HttpRequest) -> HttpResponse:
    """The page shell: the filters and a panel that loads the figures."""
    form, a = _analysis(request)
    for name, f in form.fields.items():
        f.widget.attrs.setdefault("class", "form-control" if name == "period" else "form-select")
    if a is None:
        return render(request, "winloss/index.html", {"form": form, "analysis": None}, status=400)
    qs = a.query_string()
    context = {
        "form": form,
        "analysis": a,
        "panel_url": reverse("winloss:panel") + "?" + qs,
        "refresh_url": reverse("winloss:refresh") + "?" + qs,
    }
    return render(request, "winloss/index.html", context)


def panel_context(stored: dict[str, Any]) -> dict[str, Any]:
    """The fragment's context from the stored (language-neutral) figures, labelled in the
    active language."""
    data = localize(stored)
    charts = []
    for driver in data["drivers"]:
        chart = driver_chart(driver, data["win_rate"])
        charts.append(
            {
                "chart": chart,
                "element_id": f"winloss-data-{chart['key']}",
                "rows": [(row, "") for row in chart["rows"]],
                "wide": driver["key"].startswith("stage:") is False and len(driver["values"]) > 6,
            }
        )
    model = data.get("model") or {}
    mchart = model_chart(model) if model else None
    return {
        "data": data,
        "win_rate": pct(data["win_rate"]),
        "ci_low": pct(data["ci_low"]),
        "ci_high": pct(data["ci_high"]),
        "charts": charts,
        "model": model,
        "model_chart": (
            {"chart": mchart, "element_id": "winloss-data-model", "rows": [(r, "") for r in mchart["rows"]]}
            if mchart
            else None
        ),
        "computed_at": _local(data.get("computed_at", "")),
    }


@require_GET
def panel_view(request: HttpRequest) -> HttpResponse:
    """The figures (loaded by htmx): one card per attribute and the model."""
    _form, a = _analysis(request)
    if a is None:
        return HttpResponseBadRequest(_("Check the filters."))
    reading = read(a, timezone.localdate())
    if reading.data is None:
        panel_url = reverse("winloss:panel") + "?" + a.query_string()
        return render(request, "winloss/partials/computing.html", {"panel_url": panel_url})
    return render(request, "winloss/partials/panel.html", {**panel_context(reading.data), "stale": reading.stale})


@require_POST
def refresh_view(request: HttpRequest) -> HttpResponse:
    """Recompute the figures for the reader's filters now, then show the page again."""
    _form, a = _analysis(request)
    if a is None:
        return HttpResponseBadRequest(_("Check the filters."))
    drivers_data(a, timezone.localdate(), fresh=True)
    return redirect(reverse("winloss:index") + "?" + a.query_string())
