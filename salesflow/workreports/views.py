"""Work report pages: My reports, a report (facts, text, comments), the team page of a day
or week (htmx comments inline). Thin: forms parse, access functions resolve, services write."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesflow.core.errors import Conflict, ServiceError, ValidationFailed
from salesflow.core.web import apply_service_error, page_number, paginate, wants_fragment
from salesflow.users.models import User
from salesflow.workreports import periods
from salesflow.workreports.choices import ReportKind, ReportStatus
from salesflow.workreports.exports import LIST_KEY
from salesflow.workreports.forms import CommentForm, PeriodForm, ReportTextForm
from salesflow.workreports.models import WorkReport
from salesflow.workreports.permissions import (
    can_comment_report,
    can_edit_report,
    get_report_for_user,
    team_authors_for,
)
from salesflow.workreports.selectors import (
    COUNT_KEYS,
    facts_of,
    is_due,
    my_reports,
    report_facts,
    team_reports,
    team_row,
    team_summary,
    with_thread,
)
from salesflow.workreports.services import (
    ReportChanges,
    report_comment,
    report_get_or_create_draft,
    report_submit,
    report_update,
)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _follows_a_team(user: User) -> bool:
    return team_authors_for(user).exists()


@require_GET
def my_reports_view(request: HttpRequest) -> HttpResponse:
    """The user's reports, newest first, with today's and this week's report on top."""
    user = _user(request)
    today = timezone.localdate()
    current: list[dict[str, Any]] = []
    for kind in (ReportKind.DAILY, ReportKind.WEEKLY):
        start = periods.period_of(kind, today)[0]
        report = WorkReport.objects.filter(author=user, kind=kind, period_start=start).first()
        counts = (
            report.facts["counts"]
            if report is not None and report.status != ReportStatus.DRAFT and report.facts.get("counts")
            else report_facts(author_id=user.pk, kind=kind, period_start=start, time_zone=user.zone.key)["counts"]
        )
        form = None
        if report is not None and report.status == ReportStatus.DRAFT:
            initial = {name: getattr(report, name) for name in ("summary", "plans", "problems")}
            form = ReportTextForm(initial=initial, auto_id=f"{kind}_%s")
        current.append(
            {
                "form": form,
                "kind": kind,
                "label": ReportKind(kind).label,
                "period": periods.label(kind, start),
                "start": start,
                "report": report,
                "counts": counts,
            }
        )
    page = paginate(my_reports(user), page_number(request), per_page=20)
    return render(
        request,
        "workreports/mine.html",
        {"current": current, "page": page, "today": today, "follows_team": _follows_a_team(user)},
    )


@require_POST
def report_open_view(request: HttpRequest) -> HttpResponseBase:
    """Open (start if needed) the user's own report of ``kind`` for ``date`` (default today)."""
    user = _user(request)
    kind = request.POST.get("kind", "")
    raw = request.POST.get("date", "").strip()
    try:
        day = date.fromisoformat(raw) if raw else timezone.localdate()
    except ValueError:
        messages.error(request, _("Enter a valid date (YYYY-MM-DD)."))
        return redirect("workreports:mine")
    try:
        report, _created = report_get_or_create_draft(actor=user, kind=kind, day=day)
    except ValidationFailed as exc:
        details = [m for msgs in exc.field_errors.values() for m in msgs]
        messages.error(request, " ".join([str(exc.message), *details]))
        return redirect("workreports:mine")
    return redirect("workreports:detail", pk=report.pk)


def _detail_context(user: User, report: WorkReport, form: ReportTextForm | None = None) -> dict[str, Any]:
    editable = can_edit_report(user, report) and report.status == ReportStatus.DRAFT
    if editable and form is None:
        form = ReportTextForm(initial={name: getattr(report, name) for name in ("summary", "plans", "problems")})
    facts = facts_of(report)
    return {
        "report": report,
        "facts": facts,
        "count_keys": COUNT_KEYS,
        "editable": editable,
        "form": form if editable else None,
        "can_comment": can_comment_report(user, report) and report.status != ReportStatus.DRAFT,
        "comment_form": CommentForm(auto_id=f"comment_{report.pk}_%s"),
        "comments": list(report.comments.all()),
        "is_author": report.author_id == user.pk,
    }


@require_http_methods(["GET", "POST"])
def report_detail_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A report: facts (live for a draft, frozen once submitted), text and the comments.
    The author's draft is a form: "Save draft" or "Submit to my manager"."""
    user = _user(request)
    report = get_report_for_user(user, pk)
    report = with_thread(WorkReport.objects.filter(pk=report.pk)).get()
    if request.method == "GET":
        return render(request, "workreports/detail.html", _detail_context(user, report))
    form = ReportTextForm(request.POST)
    if form.is_valid():
        try:
            report_update(actor=user, report=report, **cast(ReportChanges, form.cleaned_data))
            if request.POST.get("action") == "submit":
                report_submit(actor=user, report=report)
                messages.success(request, _("Your report was submitted."))
            else:
                messages.success(request, _("Draft saved."))
            return redirect("workreports:detail", pk=report.pk)
        except Conflict as exc:
            messages.error(request, str(exc.message))
            return redirect("workreports:detail", pk=report.pk)
        except ServiceError as exc:
            if exc.status_code == 403:
                raise
            apply_service_error(form, exc)
    report.refresh_from_db()
    return render(request, "workreports/detail.html", _detail_context(user, report, form), status=400)


@require_POST
def report_comment_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A manager's comment; htmx gets the report's comment thread back (on the team page or
    the report page), a plain post is redirected to the report."""
    user = _user(request)
    report = get_report_for_user(user, pk)
    form = CommentForm(request.POST, auto_id=f"comment_{report.pk}_%s")
    status = 200
    if form.is_valid():
        try:
            report_comment(actor=user, report=report, body=form.cleaned_data["body"])
            form = CommentForm(auto_id=f"comment_{report.pk}_%s")
        except ServiceError as exc:
            if exc.status_code == 403:
                raise
            apply_service_error(form, exc)
            status = exc.status_code
    else:
        status = 400
    if not request.headers.get("HX-Request"):
        if status == 200:
            messages.success(request, _("Comment added."))
        else:
            messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("workreports:detail", pk=report.pk)
    report = with_thread(WorkReport.objects.filter(pk=report.pk)).get()
    context = {
        "report": report,
        "comments": list(report.comments.all()),
        "can_comment": can_comment_report(user, report) and report.status != ReportStatus.DRAFT,
        "comment_form": form,
    }
    return render(request, "workreports/partials/comments.html", context, status=status)


@require_GET
def team_view(request: HttpRequest) -> HttpResponse:
    """Everyone the user follows (managers: their subtree; assistants: their reps;
    administrators: all) with their report of a day or week: submitted, draft or missing."""
    user = _user(request)
    if not _follows_a_team(user):
        raise Http404("no team")
    form = PeriodForm(request.GET or None)
    kind, start = form.period()
    people = list(team_reports(user, kind=kind, period_start=start))
    rows = [team_row(person) for person in people]
    for row in rows:
        if row.report is not None:
            row.comments = list(row.report.comments.all())
            row.can_comment = row.submitted and can_comment_report(user, row.report)
            row.comment_form = CommentForm(auto_id=f"comment_{row.report.pk}_%s")
    today = timezone.localdate()
    current = periods.period_of(kind, today)[0]
    context = {
        "form": form,
        "kind": kind,
        "kind_label": ReportKind(kind).label,
        "start": start,
        "period": periods.label(kind, start),
        "prev": periods.shift(kind, start, -1),
        "next": periods.shift(kind, start, 1) if start < current else None,
        "current": current,
        "due": is_due(kind, start),
        "not_due": not is_due(kind, start),
        "rows": rows,
        "summary": team_summary(rows),
        "count_keys": COUNT_KEYS,
        "list_key": LIST_KEY,
        "export_query": f"kind={kind}&date={start.isoformat()}",
        "today": today,
        "kinds": ReportKind.choices,
    }
    status = 400 if form.is_bound and not form.is_valid() else 200
    if wants_fragment(request, target="team-reports"):
        return render(request, "workreports/partials/team_table.html", context, status=status)
    return render(request, "workreports/team.html", context, status=status)
