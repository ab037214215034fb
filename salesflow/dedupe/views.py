"""The duplicate report page for administrators (/duplicates/report/): start a run, watch its
progress (htmx polling), browse pairs (keyset pages, filter by kind and score), dismiss a pair,
open the merge screen. Thin: the services write, the selectors read."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from salesflow.core.errors import Conflict, ValidationFailed
from salesflow.core.keyset import keyset_page
from salesflow.dedupe.models import DuplicatePair, PairKind
from salesflow.dedupe.permissions import require_report_access
from salesflow.dedupe.selectors import latest_finished_run, latest_run, report_pairs
from salesflow.dedupe.services import pair_dismiss, report_start
from salesflow.users.models import User

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    user = cast(User, request.user)
    require_report_access(user)
    return user


def _score(raw: str | None) -> float:
    try:
        value = float(raw or 0)
    except ValueError:
        return 0.0
    return value if 0.0 <= value <= 1.0 else 0.0


@require_GET
def report_view(request: HttpRequest) -> HttpResponse:
    """The report: the current run's progress and the latest finished run's open pairs."""
    _user(request)
    kind = request.GET.get("kind", "")
    if kind not in PairKind.values:
        kind = ""
    min_score = _score(request.GET.get("min_score"))
    run = latest_run()
    finished = latest_finished_run()
    cursor = request.GET.get("cursor") or None
    try:
        pairs, next_cursor = keyset_page(
            report_pairs(finished, kind=kind, min_score=min_score), cursor=cursor, limit=PAGE_SIZE
        )
    except ValidationFailed:
        pairs, next_cursor = keyset_page(
            report_pairs(finished, kind=kind, min_score=min_score), cursor=None, limit=PAGE_SIZE
        )
    context = {
        "run": run,
        "finished": finished,
        "pairs": pairs,
        "next_cursor": next_cursor,
        "kind": kind,
        "min_score": min_score,
        "kinds": PairKind.choices,
        "polling": run is not None and run.status in ("pending", "running"),
    }
    if request.headers.get("HX-Request") and request.GET.get("part") == "progress":
        return render(request, "dedupe/partials/progress.html", context)
    return render(request, "dedupe/report.html", context)


@require_POST
def report_start_view(request: HttpRequest) -> HttpResponseBase:
    """Start a run (403 for non-administrators, a message while one is running)."""
    user = _user(request)
    try:
        report_start(actor=user)
        messages.success(request, _("The duplicate report has started."))
    except Conflict as exc:
        messages.error(request, str(exc))
    return redirect("dedupe:report")


@require_POST
def pair_dismiss_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Dismiss a pair as not duplicates."""
    user = _user(request)
    pair = get_object_or_404(DuplicatePair, pk=pk)
    pair_dismiss(actor=user, pair=pair)
    if request.headers.get("HX-Request"):
        return HttpResponse("")
    messages.success(request, _("The pair was dismissed."))
    return redirect("dedupe:report")
