"""The revenue forecast page (``projections:index``): pick a metric, a frequency and a node
the reader may see; the stored run drawn as history + forecast, and its backtest table with
the chosen model highlighted. Reads only (constant query count); administrators can ask for
a recompute (``projections:recompute``), which queues the job."""

from __future__ import annotations

import re
from typing import cast
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from salesflow.core.errors import ValidationFailed
from salesflow.dashboards.cache import chart_dict
from salesflow.projections import selectors
from salesflow.projections.choices import FREQS, METRICS
from salesflow.projections.services import forecast_recompute
from salesflow.users.models import User

_NODE_KEY = re.compile(r"company|team:\d{1,12}")


@require_GET
def forecast_view(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    nodes = selectors.forecast_nodes_for(user)
    context: dict[str, object] = {
        "nodes": nodes,
        "metrics": [(m, selectors.METRIC_LABELS[m]) for m in METRICS],
        "freqs": [(f, selectors.FREQ_LABELS[f]) for f in FREQS],
        "is_admin": user.is_admin,
    }
    try:
        choice = selectors.parse_choice(
            user,
            request.GET.get("metric", "")[:40],
            request.GET.get("freq", "")[:2],
            request.GET.get("node", "")[:30],
            nodes,
        )
    except ValidationFailed as exc:
        context["errors"] = exc.field_errors
        return render(request, "projections/forecast.html", context, status=400)
    context["choice"] = choice
    run = selectors.run_for(choice) if choice else None
    context["run"] = run
    if run is not None:
        context["chart"] = chart_dict(selectors.forecast_chart(run))
        context["table"] = selectors.backtest_rows(run)
        context["notes"] = selectors.note_texts(run)
        context["computed_at"] = timezone.localtime(run.computed_at).strftime("%Y-%m-%d %H:%M")
        context["chosen_label"] = selectors.MODEL_LABELS.get(run.chosen, run.chosen)
        context["baseline_label"] = selectors.MODEL_LABELS.get(run.baseline, run.baseline)
    return render(request, "projections/forecast.html", context)


@require_POST
def recompute_view(request: HttpRequest) -> HttpResponse:
    """Administrators: queue the forecast job now (403 for anyone else)."""
    forecast_recompute(cast(User, request.user))
    messages.success(request, _("The forecasts are being recomputed; reload the page in a few minutes."))
    params = {
        "metric": request.POST.get("metric", "") if request.POST.get("metric", "") in METRICS else "",
        "freq": request.POST.get("freq", "") if request.POST.get("freq", "") in FREQS else "",
        "node": request.POST.get("node", "") if _NODE_KEY.fullmatch(request.POST.get("node", "")) else "",
    }
    query = urlencode({k: v for k, v in params.items() if v})
    return redirect(reverse("projections:index") + ("?" + query if query else ""))
