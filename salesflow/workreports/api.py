"""``/api/v1/work-reports``: list, read, open (get or create) a draft, change its text, submit,
comment. The same services as the pages; unseen reports are 404."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.core.errors import ValidationFailed
from salesflow.core.keyset import api_page
from salesflow.users.models import User
from salesflow.workreports.choices import ReportKind, ReportStatus
from salesflow.workreports.models import WorkReport
from salesflow.workreports.permissions import get_report_for_user
from salesflow.workreports.schemas import (
    CommentOut,
    ReportFilters,
    ReportListOut,
    ReportOpenIn,
    ReportPatch,
    WorkReportCommentIn,
    WorkReportOut,
)
from salesflow.workreports.selectors import report_list, with_thread
from salesflow.workreports.services import (
    ReportChanges,
    report_comment,
    report_get_or_create_draft,
    report_submit,
    report_update,
)

router = Router(tags=["work reports"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _full(user: User, pk: int) -> WorkReport:
    get_report_for_user(user, pk)
    return with_thread(WorkReport.objects.filter(pk=pk)).get()


@router.get("", response=ReportListOut, summary="List work reports")
@router.get("/", response=ReportListOut, include_in_schema=False)
def list_reports(request: HttpRequest, filters: Query[ReportFilters]) -> dict[str, Any]:
    """Reports the caller may read (their own; a manager's team subtree; an assistant's
    delegated reps; administrators all), newest period first."""
    errors: dict[str, list[str]] = {}
    if filters.kind and filters.kind not in ReportKind.values:
        errors["kind"] = [_("Choose daily or weekly.")]
    if filters.status and filters.status not in ReportStatus.values:
        errors["status"] = [_("Choose draft, submitted or commented.")]
    if errors:
        raise ValidationFailed(_("The input is not valid."), field_errors=errors)
    date_from, date_to = filters.date_from, filters.date_to
    if filters.date is not None:
        date_from = max(filters.date, date_from) if date_from else filters.date
        date_to = min(filters.date, date_to) if date_to else filters.date
    qs = report_list(
        _user(request),
        kind=filters.kind or None,
        date_from=date_from,
        date_to=date_to,
        author_id=filters.user_id,
        status=filters.status or None,
    )
    return api_page(qs, cursor=filters.cursor, limit=filters.limit, offset=filters.offset)


@router.post("", response={200: WorkReportOut, 201: WorkReportOut}, summary="Open your report of a period")
@router.post("/", response={200: WorkReportOut, 201: WorkReportOut}, include_in_schema=False)
def open_report(request: HttpRequest, payload: ReportOpenIn) -> tuple[int, WorkReport]:
    """Your own ``kind`` report of the period holding ``date`` (default: today in your time
    zone): 201 with a new draft, or 200 with the report that exists."""
    user = _user(request)
    day = payload.date or timezone.localdate()
    report, created = report_get_or_create_draft(actor=user, kind=payload.kind, day=day)
    return (201 if created else 200), _full(user, report.pk)


@router.get("/{int:report_id}", response=WorkReportOut, summary="Read a work report")
def get_report(request: HttpRequest, report_id: int) -> WorkReport:
    return _full(_user(request), report_id)


@router.patch("/{int:report_id}", response=WorkReportOut, summary="Change a draft's text")
def update_report(request: HttpRequest, report_id: int, payload: ReportPatch) -> WorkReport:
    """Only the author, only while a draft (409 once submitted)."""
    user = _user(request)
    report = get_report_for_user(user, report_id)
    sent = payload.model_dump(exclude_unset=True)
    changes = {name: value or "" for name, value in sent.items()}
    report_update(actor=user, report=report, **cast(ReportChanges, changes))
    return _full(user, report_id)


@router.post("/{int:report_id}/submit", response=WorkReportOut, summary="Submit your report to your manager")
def submit_report(request: HttpRequest, report_id: int) -> WorkReport:
    """Once: the facts are frozen; a second submit is 409."""
    user = _user(request)
    report_submit(actor=user, report=get_report_for_user(user, report_id))
    return _full(user, report_id)


@router.post("/{int:report_id}/comments", response={201: CommentOut}, summary="Comment on a report")
def comment_report(request: HttpRequest, report_id: int, payload: WorkReportCommentIn) -> tuple[int, Any]:
    """A manager above the author or an administrator (403 otherwise); not on a draft (409)."""
    user = _user(request)
    comment = report_comment(actor=user, report=get_report_for_user(user, report_id), body=payload.body)
    return 201, comment
