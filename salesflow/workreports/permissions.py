"""Who reads, writes and comments on work reports, built on the ownership scope of
:mod:`salesflow.users.permissions`.

- The author reads and (while a draft) writes their own reports; nobody else writes them.
- A manager reads the reports of everyone in their team subtree (the managers above the
  author) and comments on the submitted ones; an administrator reads and comments on all.
- An assistant reads, read-only, the reports of the reps delegated to them (they coordinate
  those reps' work) and never comments.
- Support staff and other reps see only their own: a report is line management, not a
  customer record. An unseen report is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.core.errors import Forbidden
from salesflow.users.choices import Role
from salesflow.users.models import User
from salesflow.users.permissions import is_system_actor, visible_owner_ids
from salesflow.workreports.models import WorkReport


def report_author_ids(user: User) -> set[int] | None:
    """Authors whose reports ``user`` may read; ``None`` means every author."""
    if is_system_actor(user):
        return None
    if not user.is_authenticated or not user.is_active:
        return set()
    if user.is_admin:
        return None
    if user.role in (Role.MANAGER, Role.ASSISTANT):
        ids = visible_owner_ids(user)
        return set(ids) if ids is not None else None
    return {user.pk}


def reports_visible_to(user: User) -> QuerySet[WorkReport]:
    """Every report ``user`` may read."""
    ids = report_author_ids(user)
    qs = WorkReport.objects.all()
    return qs if ids is None else qs.filter(author_id__in=ids)


def can_edit_report(user: User, report: WorkReport) -> bool:
    """Only the author writes a report's text (and only while it is a draft: the service says 409)."""
    return user.is_active and report.author_id == user.pk


def can_comment_report(user: User, report: WorkReport) -> bool:
    """A manager above the author, or an administrator; never the author themself."""
    if not user.is_authenticated or not user.is_active or report.author_id == user.pk:
        return False
    if user.is_admin:
        return True
    if user.role != Role.MANAGER:
        return False
    ids = visible_owner_ids(user)
    return ids is None or report.author_id in ids


def get_report_for_user(user: User, pk: object) -> WorkReport:
    """The report ``pk`` if ``user`` may read it, else ``Http404``."""
    try:
        return reports_visible_to(user).select_related("author", "manager").get(pk=int(str(pk)))
    except (WorkReport.DoesNotExist, ValueError, OverflowError):
        raise Http404("work report not found") from None


def require_comment(user: User, report: WorkReport) -> None:
    if not can_comment_report(user, report):
        raise Forbidden(_("Only a manager above the author or an administrator may comment on this report."))


def reporting_roles() -> list[str]:
    """Roles expected to write reports (reminded, listed on the team page)."""
    return list(getattr(settings, "SALESFLOW_WORK_REPORT_ROLES", [Role.REP]))


def team_authors_for(user: User) -> QuerySet[User]:
    """The people whose reports ``user`` follows on the team page: active users of the
    reporting roles whose reports ``user`` may read, ``user`` excepted."""
    ids = report_author_ids(user)
    qs = User.objects.filter(is_active=True, role__in=reporting_roles()).exclude(pk=user.pk)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs


def manager_of(author: User) -> User | None:
    """The nearest active manager above ``author``: the manager of their team, else of the
    parent team, and so on (one query per level; safe against a cycle)."""
    from salesflow.users.models import Team

    seen: set[int] = set()
    team_id = author.team_id
    while team_id is not None and team_id not in seen:
        seen.add(team_id)
        team = Team.objects.select_related("manager").filter(pk=team_id).first()
        if team is None:
            return None
        manager = team.manager
        if manager is not None and manager.pk != author.pk and manager.is_active:
            return manager
        team_id = team.parent_id
    return None
