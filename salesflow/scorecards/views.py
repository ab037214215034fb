"""Pages of ``salesflow.scorecards``: the team scorecard, one rep's scorecard with their
appraisals (the appraisal view), funnel math and the appraisals of a period. Thin views over
the selectors and services; the filters are ``analytics.forms.AnalysisFilterForm``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from salesflow.analytics.forms import AnalysisFilterForm
from salesflow.analytics.selectors import Node
from salesflow.billing.permissions import sees_no_money
from salesflow.core.errors import Forbidden, ServiceError
from salesflow.core.periods import Period, period_containing
from salesflow.core.web import apply_service_error
from salesflow.scorecards.forms import AppraisalForm, parse_gap
from salesflow.scorecards.models import Appraisal
from salesflow.scorecards.selectors import (
    MIN_SAMPLE,
    SELLING_ROLES,
    appraisal_period,
    appraisal_rep_for,
    appraisals_for,
    can_write_appraisal_of,
    funnel,
    scorecard,
)
from salesflow.scorecards.services import appraisal_create, appraisal_update
from salesflow.users.choices import Role
from salesflow.users.models import User
from salesflow.users.permissions import managed_team_ids, org_snapshot


def _org_once(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The page reads the team tree and the team history once (``org_snapshot``): every
    figure of the page asks them again (the node's windows, the median group, each rep's
    visibility), and they do not change during the request."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with org_snapshot():
            return view(request, *args, **kwargs)

    return wrapped


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _filters(request: HttpRequest) -> tuple[AnalysisFilterForm, Any]:
    form = AnalysisFilterForm(request.GET, user=_user(request))
    if not form.is_valid():
        return form, None
    return form, form.analysis()


@require_GET
@_org_once
def team_view(request: HttpRequest) -> HttpResponse:
    form, analysis = _filters(request)
    context: dict[str, Any] = {
        "form": form,
        "analysis": analysis,
        "section": "scorecards",
        "show_money": not sees_no_money(_user(request)),
    }
    if analysis is not None:
        context["card"] = scorecard(analysis.node, analysis.period, analysis.filters)
        context["query"] = analysis.query_string()
    return render(request, "scorecards/team.html", context, status=200 if analysis is not None else 400)


def _appraisal_period(period: Period) -> Period | None:
    """The month or quarter an appraisal of the page's period is for (``None`` for a year or a week)."""
    try:
        return appraisal_period(period.key)
    except ValueError:
        return None


@require_http_methods(["GET", "POST"])
@_org_once
def rep_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One rep's scorecard beside their team's median, and their appraisals (考核)."""
    user = _user(request)
    rep = appraisal_rep_for(user, pk)  # 404 unless the viewer may read this rep's appraisals
    data = request.GET.copy()
    data["node"] = f"rep:{rep.pk}"
    form = AnalysisFilterForm(data, user=user)
    if not form.is_valid():
        return render(request, "scorecards/rep.html", {"form": form, "rep": rep, "section": "scorecards"}, status=400)
    analysis = form.analysis()
    period = analysis.period
    card = scorecard(Node("rep", rep.pk, str(rep)), period, analysis.filters)
    target_period = _appraisal_period(period)
    current = (
        Appraisal.objects.select_related("author").filter(rep=rep, period_key=target_period.key).first()
        if target_period
        else None
    )
    can_write = target_period is not None and can_write_appraisal_of(user, rep)
    appraisal_form = None
    status = 200
    if can_write:
        initial = {"rating": current.rating, "comment": current.comment} if current else None
        appraisal_form = AppraisalForm(request.POST if request.method == "POST" else None, initial=initial)
        if request.method == "POST":
            if appraisal_form.is_valid():
                try:
                    if current is None:
                        assert target_period is not None
                        appraisal_create(
                            actor=user,
                            rep=rep,
                            period_key=target_period.key,
                            rating=appraisal_form.cleaned_data["rating"],
                            comment=appraisal_form.cleaned_data["comment"],
                        )
                    else:
                        appraisal_update(
                            actor=user,
                            appraisal=current,
                            rating=appraisal_form.cleaned_data["rating"],
                            comment=appraisal_form.cleaned_data["comment"],
                        )
                except ServiceError as exc:
                    apply_service_error(appraisal_form, exc)
                else:
                    messages.success(request, _("Appraisal saved."))
                    url = reverse("scorecards:rep", args=[rep.pk])
                    return redirect(f"{url}?{analysis.query_string(node='')}")
            status = 400
    elif request.method == "POST":
        raise Http404 if target_period is None else _forbidden()
    context = {
        "form": form,
        "analysis": analysis,
        "rep": rep,
        "card": card,
        "row": card.rows[0] if card.rows else None,
        "target_period": target_period,
        "current": current,
        "can_write": can_write,
        "appraisal_form": appraisal_form,
        "history": list(appraisals_for(user, rep_id=rep.pk)[:12]),
        "query": analysis.query_string(node=""),
        "section": "scorecards",
        "show_money": not sees_no_money(user),
    }
    return render(request, "scorecards/rep.html", context, status=status)


def _forbidden() -> Exception:
    return Forbidden(_("Only the rep's manager can appraise them."))


@require_GET
@_org_once
def funnel_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    data = request.GET.copy()
    gap_text = data.pop("gap", [""])[-1]
    if "period" not in data:
        data["period"] = period_containing("quarter", timezone.localdate()).key
    form = AnalysisFilterForm(data, user=user)
    context: dict[str, Any] = {
        "form": form,
        "gap": gap_text,
        "min_sample": MIN_SAMPLE,
        "section": "scorecards",
        "show_money": not sees_no_money(user),
    }
    gap = None
    try:
        gap = parse_gap(gap_text)
    except ServiceError as exc:
        context["gap_error"] = exc.field_errors.get("gap", [str(exc.message)])[0]
    if not form.is_valid() or "gap_error" in context:
        return render(request, "scorecards/funnel.html", context, status=400)
    analysis = form.analysis()
    context["analysis"] = analysis
    context["result"] = funnel(analysis.node, analysis.period, analysis.filters, gap=gap)
    return render(request, "scorecards/funnel.html", context)


@require_GET
def appraisals_view(request: HttpRequest) -> HttpResponse:
    """The appraisals of a month or quarter (default last quarter) the reader may see, and —
    for a manager — the reps still to appraise."""
    user = _user(request)
    key = (request.GET.get("period") or "").strip()[:20]
    error = ""
    period: Period | None = None
    if key:
        try:
            period = appraisal_period(key)
        except ValueError:
            error = _("Enter a month or a quarter, such as 2026-12 or 2026-Q4.")
    else:
        this_quarter = period_containing("quarter", timezone.localdate())
        period = period_containing("quarter", this_quarter.start - timedelta(days=1))
    rows: list[Appraisal] = []
    todo: list[tuple[int, str]] = []
    if period is not None:
        rows = list(appraisals_for(user, period=period)[:500])
        done = {a.rep_id for a in rows}
        if user.role == Role.MANAGER:
            people = User.objects.filter(
                team_id__in=managed_team_ids(user), is_active=True, role__in=SELLING_ROLES
            ).exclude(pk=user.pk)
            todo = [(u.pk, str(u)) for u in people.order_by("display_name", "username") if u.pk not in done]
    context = {
        "period": period,
        "period_key": key or (period.key if period else ""),
        "error": error,
        "rows": rows,
        "todo": todo,
        "section": "scorecards",
    }
    return render(request, "scorecards/appraisals.html", context, status=400 if error else 200)
