"""The team page of a day or week as an export (``core.exports``): one row per person the
exporting user follows, with their report (or none) of the period — the page's own rows."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet, Value
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.exports import Column, ListSpec
from salesflow.users.models import User
from salesflow.workreports import periods
from salesflow.workreports.choices import ReportKind, ReportStatus
from salesflow.workreports.forms import PeriodForm
from salesflow.workreports.selectors import team_reports, team_row

LIST_KEY = "work_reports"


def team_export_rows(user: User, params: QueryDict) -> QuerySet[User]:
    """What ``workreports:team`` shows for ``params``."""
    kind, start = PeriodForm(params or None).period()
    label = f"{ReportKind(kind).label} {periods.label(kind, start)}"
    return team_reports(user, kind=kind, period_start=start).annotate(wr_period=Value(label))


def _report(person: User) -> Any:
    return team_row(person).report


def _state(person: User) -> str:
    row = team_row(person)
    if row.report is None:
        return str(_("Missing"))
    return str(ReportStatus(row.report.status).label)


def _count(key: str) -> Any:
    return lambda person: team_row(person).counts[key]


def _text(name: str) -> Any:
    def get(person: User) -> str:
        report = _report(person)
        return getattr(report, name) if report is not None else ""

    return get


def _comments(person: User) -> str:
    report = _report(person)
    if report is None:
        return ""
    return "\n".join(f"{c.author}: {c.body}" for c in report.comments.all())


TEAM_COLUMNS = [
    Column("person", pgettext_lazy("work report", "Person"), lambda p: str(p)),
    Column("team", _("Team"), lambda p: str(p.team) if p.team_id else ""),
    Column("period", _("Period"), lambda p: getattr(p, "wr_period", "")),
    Column("status", _("Status"), _state),
    Column("submitted_at", _("Submitted at"), lambda p: getattr(_report(p), "submitted_at", None)),
    Column("activities", _("Activities"), _count("activities")),
    Column("stage_moves", _("Stage changes"), _count("stage_moves")),
    Column("new_leads", _("New leads"), _count("new_leads")),
    Column("new_deals", _("New opportunities"), _count("new_deals")),
    Column("won", _("Won"), _count("won")),
    Column("lost", _("Lost"), _count("lost")),
    Column("summary", _("Summary"), _text("summary")),
    Column("plans", _("Plans for the next period"), _text("plans")),
    Column("problems", _("Problems and help needed"), _text("problems")),
    Column("comments", _("Comments"), _comments),
]


def register() -> None:
    from salesflow.core.exports import register_list

    register_list(
        ListSpec(
            key=LIST_KEY,
            label=_("Team work reports"),
            url_name="workreports:team",
            params=frozenset(PeriodForm.base_fields),
            build=team_export_rows,
            columns=TEAM_COLUMNS,
        )
    )
