"""Who reads, edits and adds to the objection library, and who logs objections on a deal.

- Everyone signed in reads the library (active objections, approved answers).
- Managers and administrators (and the system actor) edit it: objections, answers,
  approval of suggested answers, deactivation.
- Whoever may write some deals (reps, assistants — not support) may suggest an answer; a
  suggestion is seen by its author and the editors until an editor approves it.
- Logging an objection on a deal is writing the deal (``can_write_opportunity``); reading
  the log is reading the deal. A log is removed by its author or by an editor, both only
  while they may write the deal.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from salesflow.objections.choices import AnswerStatus
from salesflow.objections.models import DealObjection, Objection, ObjectionAnswer
from salesflow.users.choices import Role
from salesflow.users.models import User
from salesflow.users.permissions import is_system_actor, writable_owner_ids


def can_edit_library(user: User) -> bool:
    """Managers and administrators maintain the library."""
    if is_system_actor(user):
        return True
    return bool(user.is_authenticated and user.is_active and (user.is_admin or user.role == Role.MANAGER))


def can_suggest_answer(user: User) -> bool:
    """Editors, and whoever may write some deals (support may not)."""
    if can_edit_library(user):
        return True
    if not (user.is_authenticated and user.is_active):
        return False
    ids = writable_owner_ids(user)
    return ids is None or bool(ids)


def objections_visible_to(user: User) -> QuerySet[Objection]:
    """Active objections for everyone; editors see the inactive ones too."""
    qs = Objection.objects.all()
    return qs if can_edit_library(user) else qs.filter(is_active=True)


def answers_visible_to(user: User) -> QuerySet[ObjectionAnswer]:
    """Active approved answers; a user's own suggestions; everything for editors."""
    qs = ObjectionAnswer.objects.all()
    if can_edit_library(user):
        return qs
    return qs.filter(Q(is_active=True) & (Q(status=AnswerStatus.APPROVED) | Q(author_id=user.pk)))


def can_delete_log(user: User, log: DealObjection) -> bool:
    """The author of the log or an editor (the deal's write access is checked by the service)."""
    return bool(user.pk and log.logged_by_id == user.pk) or can_edit_library(user)
