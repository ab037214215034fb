"""Writes of work reports (日报/周报): start a draft, edit its text, submit it to the
manager, comment on it, and remind the author of a missing one.

Each service checks the actor itself, validates before writing (``ValidationFailed`` naming
the field, nothing written), refuses state changes that no longer apply with ``Conflict``
(409), locks the report row for transitions, and audits in its own transaction.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, TypedDict, Unpack

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.audit import changed_fields, record_event
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.users.models import User
from salesflow.users.permissions import is_system_actor
from salesflow.users.services import system_actor
from salesflow.workreports import periods
from salesflow.workreports.choices import ReportKind, ReportStatus
from salesflow.workreports.models import WorkReport, WorkReportComment, WorkReportReminder
from salesflow.workreports.permissions import can_edit_report, manager_of, require_comment
from salesflow.workreports.selectors import report_facts

#: The longest text of one field (summary, plans, problems, a comment).
TEXT_MAX_LENGTH = 5000
TEXT_FIELDS = ("summary", "plans", "problems")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class ReportChanges(TypedDict, total=False):
    """Fields ``report_update`` may change (the text; the facts come from the records)."""

    summary: str
    plans: str
    problems: str


def _text_error(value: object) -> str | None:
    if not isinstance(value, str):
        return _("Enter text.")
    if _CONTROL.search(value):
        return _("Control characters (such as NUL bytes) are not allowed here.")
    if len(value) > TEXT_MAX_LENGTH:
        return _("Use at most %(max)d characters.") % {"max": TEXT_MAX_LENGTH}
    return None


def _require_person(actor: User) -> None:
    if not actor.is_authenticated or not actor.is_active or is_system_actor(actor):
        raise Forbidden(_("Only a signed-in person writes their own work report."))


def _require_author(actor: User, report: WorkReport) -> None:
    if not can_edit_report(actor, report):
        raise Forbidden(_("Only the author may change this report."))


def _locked(report: WorkReport) -> WorkReport:
    return WorkReport.objects.select_for_update().select_related("author").get(pk=report.pk)


@transaction.atomic
def report_get_or_create_draft(*, actor: User, kind: str, day: date) -> tuple[WorkReport, bool]:
    """The actor's own ``kind`` report of the period holding ``day`` (in the actor's time
    zone), started as a draft if there is none; returns ``(report, created)``.

    Raises ``ValidationFailed`` for an unknown ``kind`` or a ``date`` in the future (a period
    that has not started) or before 2000; ``Forbidden`` for the system actor. Audited
    ``workreports.report.created`` when a draft is made; a concurrent creation returns the
    winner's row.
    """
    _require_person(actor)
    errors: dict[str, list[str]] = {}
    if kind not in ReportKind.values:
        errors["kind"] = [_("Choose daily or weekly.")]
    if not isinstance(day, date):
        errors["date"] = [_("Enter a valid date (YYYY-MM-DD).")]
    elif day > timezone.localdate(timezone.now(), actor.zone):
        errors["date"] = [_("A report covers a day or week that has begun, not a future one.")]
    elif day < periods.EARLIEST:
        errors["date"] = [_("Enter a date from 2000 on.")]
    if errors:
        raise ValidationFailed(_("The report could not be opened."), field_errors=errors)
    start, end = periods.period_of(kind, day)
    existing = WorkReport.objects.filter(author=actor, kind=kind, period_start=start).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            report = WorkReport.objects.create(
                author=actor, kind=kind, period_start=start, period_end=end, time_zone=actor.zone.key
            )
    except IntegrityError:
        return WorkReport.objects.get(author=actor, kind=kind, period_start=start), False
    record_event(
        actor=actor,
        verb="workreports.report.created",
        target=report,
        data={"author": actor.pk, "kind": kind, "period_start": start},
    )
    return report, True


@transaction.atomic
def report_update(*, actor: User, report: WorkReport, **changes: Unpack[ReportChanges]) -> WorkReport:
    """Change the text of the actor's own draft (``summary``, ``plans``, ``problems``).

    Raises ``Forbidden`` unless the actor is the author, ``Conflict`` once submitted,
    ``ValidationFailed`` naming each field that is unknown, not text, too long (more than
    ``TEXT_MAX_LENGTH``) or holds control characters. Audited ``workreports.report.updated``
    with ``changes``; an update that changes nothing writes nothing.
    """
    refuse_unknown_fields(changes, set(TEXT_FIELDS), _("The report could not be saved."))
    _require_author(actor, report)
    errors = {name: [msg] for name, value in changes.items() if (msg := _text_error(value))}
    if errors:
        raise ValidationFailed(_("The report could not be saved."), field_errors=errors)
    locked = _locked(report)
    if locked.status != ReportStatus.DRAFT:
        raise Conflict(_("This report has been submitted and can no longer be changed."))
    values: dict[str, Any] = {name: str(value).strip() for name, value in changes.items()}
    before = {name: getattr(locked, name) for name in values}
    diff = changed_fields(before, values)
    if not diff:
        return locked
    for name, value in values.items():
        setattr(locked, name, value)
        setattr(report, name, value)
    locked.save(update_fields=[*values, "updated_at"])
    record_event(actor=actor, verb="workreports.report.updated", target=locked, data={"changes": diff})
    return locked


@transaction.atomic
def report_submit(*, actor: User, report: WorkReport) -> WorkReport:
    """Submit the actor's own draft to their manager: the period's facts are computed now
    and frozen into the report, so it reads the same later.

    Raises ``Forbidden`` unless the actor is the author, ``Conflict`` when it was already
    submitted (a report is submitted once), ``ValidationFailed`` on ``plans`` when the plans
    for the next period are empty. Audited ``workreports.report.submitted`` (the manager is
    notified).
    """
    _require_author(actor, report)
    locked = _locked(report)
    if locked.status != ReportStatus.DRAFT:
        raise Conflict(_("This report has already been submitted."))
    if not locked.plans.strip():
        raise ValidationFailed(
            _("The report could not be submitted."),
            field_errors={"plans": [_("Write your plans for the next period before submitting.")]},
        )
    manager = manager_of(locked.author)
    locked.facts = report_facts(
        author_id=locked.author_id, kind=locked.kind, period_start=locked.period_start, time_zone=locked.time_zone
    )
    locked.status = ReportStatus.SUBMITTED
    locked.submitted_at = timezone.now()
    locked.manager = manager
    locked.save(update_fields=["facts", "status", "submitted_at", "manager", "updated_at"])
    record_event(
        actor=actor,
        verb="workreports.report.submitted",
        target=locked,
        data={
            "author": locked.author_id,
            "kind": locked.kind,
            "period_start": locked.period_start,
            "manager": manager.pk if manager is not None else None,
        },
    )
    for name in ("facts", "status", "submitted_at", "manager"):
        setattr(report, name, getattr(locked, name))
    return locked


@transaction.atomic
def report_comment(*, actor: User, report: WorkReport, body: str) -> WorkReportComment:
    """Add the actor's comment to a submitted report (several comments are allowed).

    Raises ``Forbidden`` unless the actor is a manager above the author or an administrator,
    ``Conflict`` while the report is a draft, ``ValidationFailed`` on ``body`` when it is
    empty, too long or holds control characters. The report becomes ``commented``. Audited
    ``workreports.report.commented`` (the author is notified).
    """
    require_comment(actor, report)
    error = _text_error(body)
    if error is None and not str(body).strip():
        error = _("Write a comment.")
    if error:
        raise ValidationFailed(_("The comment could not be saved."), field_errors={"body": [error]})
    locked = _locked(report)
    if locked.status == ReportStatus.DRAFT:
        raise Conflict(_("This report has not been submitted yet."))
    now = timezone.now()
    comment = WorkReportComment.objects.create(report=locked, author=actor, body=str(body).strip(), created_at=now)
    locked.status = ReportStatus.COMMENTED
    locked.last_commented_at = now
    locked.save(update_fields=["status", "last_commented_at", "updated_at"])
    record_event(
        actor=actor,
        verb="workreports.report.commented",
        target=locked,
        data={"author": locked.author_id, "comment": comment.pk},
    )
    report.status, report.last_commented_at = locked.status, now
    return comment


def reminder_send(*, user: User, kind: str, period_start: date) -> WorkReportReminder | None:
    """Remind ``user`` (as the system actor) that their ``kind`` report of the period starting
    ``period_start`` is missing — once: returns ``None`` when they were reminded already.
    Audited ``workreports.reminder.sent`` (the notification rule tells the user)."""
    try:
        with transaction.atomic():
            reminder = WorkReportReminder.objects.create(user=user, kind=kind, period_start=period_start)
            record_event(
                actor=system_actor(),
                verb="workreports.reminder.sent",
                target=reminder,
                data={"user": user.pk, "kind": kind, "period_start": period_start},
            )
    except IntegrityError:
        return None
    return reminder
