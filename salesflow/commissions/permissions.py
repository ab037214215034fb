"""Who sees and who changes commission plans and statements.

* Plans and rules: every signed-in user reads them (a rep may know how they are paid);
  only administrators write.
* Statements: a rep sees their own; a manager the statements of the people in the teams
  they manage (``analytics.selectors.visible_rep_ids``: the current team); an assistant
  those of the reps delegated to them; administrators all. Unseen → 404.
* Generating, returning and locking: administrators and the rep's managers. Approving:
  the same, but never one's own statement.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from salesflow.analytics.selectors import visible_rep_ids
from salesflow.commissions.models import CommissionPlan, CommissionStatement
from salesflow.users.models import User
from salesflow.users.permissions import is_system_actor, managed_team_ids


def can_manage_rules(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_admin) or is_system_actor(user)


def statements_visible_to(user: User) -> QuerySet[CommissionStatement]:
    reps = visible_rep_ids(user)
    qs = CommissionStatement.objects.all()
    return qs if reps is None else qs.filter(rep_id__in=sorted(reps))


def get_statement_for_user(user: User, pk: int) -> CommissionStatement:
    """The statement ``pk`` when ``user`` may see it; ``Http404`` otherwise."""
    if not 0 < pk < 2**63:
        raise Http404
    found = statements_visible_to(user).select_related("rep", "plan").filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def get_plan(pk: int) -> CommissionPlan:
    if not 0 < pk < 2**63:
        raise Http404
    found = CommissionPlan.objects.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def manages_rep(user: User, rep: User) -> bool:
    """An administrator, or a manager of the team ``rep`` is in now (or the system actor)."""
    if is_system_actor(user) or (user.is_active and user.is_admin):
        return True
    return rep.team_id is not None and rep.team_id in managed_team_ids(user)


def can_generate(user: User, rep: User) -> bool:
    return manages_rep(user, rep)


def can_approve(user: User, rep: User) -> bool:
    return user.pk != rep.pk and manages_rep(user, rep)


def can_submit(user: User, rep: User) -> bool:
    return user.pk == rep.pk or manages_rep(user, rep)
