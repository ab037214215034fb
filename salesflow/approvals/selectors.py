"""Reads of the approval engine: the inbox, a request's page, a document's requests, the
rules and delegations, and the resolution of a step's approvers.

Query shapes live here: lists are one query plus one per prefetch, whatever their length.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from salesflow.approvals.choices import ActionKind, ApproverType, RequestStatus, StepStatus
from salesflow.approvals.models import (
    ApprovalAction,
    ApprovalRequest,
    ApprovalRule,
    Delegation,
    RequestStep,
    RuleStep,
    StepApprover,
)
from salesflow.approvals.permissions import acting_ids, requests_visible_to, today
from salesflow.users.choices import Role
from salesflow.users.models import Team, User

INBOX_LIMIT = 50


def _list_shape(qs: QuerySet[ApprovalRequest]) -> QuerySet[ApprovalRequest]:
    return qs.select_related("requester", "target_type").order_by("-submitted_at", "-id")


def pending_for(user: User) -> QuerySet[ApprovalRequest]:
    """Pending requests whose current step waits for ``user`` or someone they stand in for
    today (their own decision not yet given)."""
    waiting = StepApprover.objects.filter(
        step__request=OuterRef("pk"),
        step__position=OuterRef("current_step"),
        step__status=StepStatus.PENDING,
        decision="",
        user_id__in=acting_ids(user),
    )
    return _list_shape(ApprovalRequest.objects.filter(Exists(waiting), status=RequestStatus.PENDING))


def decided_by(user: User) -> QuerySet[ApprovalRequest]:
    """Requests on which ``user`` approved, rejected or returned a step (visible ones)."""
    acted = ApprovalAction.objects.filter(
        request=OuterRef("pk"),
        actor=user,
        action__in=[ActionKind.APPROVED, ActionKind.REJECTED, ActionKind.RETURNED],
    )
    return _list_shape(ApprovalRequest.objects.filter(Exists(acted)))


def requested_by(user: User) -> QuerySet[ApprovalRequest]:
    return _list_shape(ApprovalRequest.objects.filter(requester=user))


def inbox_counts(user: User) -> int:
    """How many requests wait for ``user`` (the menu badge)."""
    return pending_for(user).count()


def request_detail(request: ApprovalRequest) -> ApprovalRequest:
    """``request`` with its steps, approvers and history loaded (three queries)."""
    steps = RequestStep.objects.order_by("position").prefetch_related(
        Prefetch("approvers", queryset=StepApprover.objects.select_related("user", "escalated_from").order_by("id"))
    )
    actions = ApprovalAction.objects.select_related("actor", "on_behalf_of").order_by("created_at", "id")
    return (
        ApprovalRequest.objects.select_related("requester", "target_type")
        .prefetch_related(Prefetch("steps", queryset=steps), Prefetch("actions", queryset=actions))
        .get(pk=request.pk)
    )


def document_requests(kind: str, object_id: int, user: User) -> list[ApprovalRequest]:
    """The requests of one document that ``user`` may see, newest first, with their steps."""
    steps = RequestStep.objects.order_by("position")
    actions = ApprovalAction.objects.select_related("actor", "on_behalf_of").order_by("created_at", "id")
    return list(
        requests_visible_to(user)
        .filter(kind=kind, object_id=object_id)
        .select_related("requester")
        .prefetch_related(Prefetch("steps", queryset=steps), Prefetch("actions", queryset=actions))
        .order_by("-submitted_at", "-id")[:10]
    )


def pending_request_id(kind: str, object_id: int) -> int | None:
    return (
        ApprovalRequest.objects.filter(kind=kind, object_id=object_id, status=RequestStatus.PENDING)
        .values_list("pk", flat=True)
        .first()
    )


def is_pending(kind: str, object_id: int) -> bool:
    """Whether the document has a pending approval request (it must refuse edits)."""
    return pending_request_id(kind, object_id) is not None


def rules_list(kind: str | None = None) -> QuerySet[ApprovalRule]:
    qs = ApprovalRule.objects.prefetch_related(
        "conditions",
        Prefetch("steps", queryset=RuleStep.objects.order_by("position").prefetch_related("users")),
    ).order_by("kind", "priority", "id")
    return qs.filter(kind=kind) if kind else qs


def matching_rules(kind: str) -> list[ApprovalRule]:
    """The active rules of ``kind`` in the order the engine tries them (three queries)."""
    return list(rules_list(kind).filter(active=True))


def delegations_for(user: User) -> QuerySet[Delegation]:
    """Administrators: every delegation; others: those they gave or received."""
    qs = Delegation.objects.select_related("user", "delegate").order_by("-starts_on", "id")
    if user.is_admin:
        return qs
    return qs.filter(Q(user=user) | Q(delegate=user))


def delegates_of(user_ids: Iterable[int], *, on: date | None = None) -> dict[int, list[int]]:
    """For each approver id: who stands in for them on ``on`` (one query)."""
    day = on or today()
    found: dict[int, list[int]] = {}
    rows = Delegation.objects.filter(user_id__in=list(user_ids), starts_on__lte=day, ends_on__gte=day)
    for user_id, delegate_id in rows.values_list("user_id", "delegate_id"):
        found.setdefault(user_id, []).append(delegate_id)
    return found


# --- resolving a step's approvers ---------------------------------------------------------------


def managers_above(user: User, levels: int) -> list[User]:
    """The first ``levels`` distinct active managers above ``user``: the manager of their
    team (unless that is ``user``), then of the parent team, and so on (one query per team
    level; safe against a cycle)."""
    found: list[User] = []
    seen: set[int] = set()
    team_id = user.team_id
    while team_id is not None and team_id not in seen and len(found) < levels:
        seen.add(team_id)
        team = Team.objects.select_related("manager").filter(pk=team_id).first()
        if team is None:
            break
        manager = team.manager
        if manager is not None and manager.is_active and manager.pk != user.pk and manager not in found:
            found.append(manager)
        team_id = team.parent_id
    return found


def team_chain_ids(user: User) -> list[int]:
    """The user's team and every team above it."""
    ids: list[int] = []
    team_id = user.team_id
    while team_id is not None and team_id not in ids:
        ids.append(team_id)
        team_id = Team.objects.filter(pk=team_id).values_list("parent_id", flat=True).first()
    return ids


def _role_q(role: str) -> Q:
    if role == Role.ADMIN:
        return Q(role=Role.ADMIN) | Q(is_superuser=True)
    return Q(role=role)


def administrators() -> list[User]:
    return list(User.objects.filter(_role_q(Role.ADMIN), is_active=True).order_by("pk"))


@dataclass(frozen=True)
class Resolved:
    users: list[User]
    fallback: bool


def resolve_approvers(*, approver_type: str, user_ids: list[int], levels: int, role: str, requester: User) -> Resolved:
    """Who decides a step. The requester is never their own approver; a step that resolves
    to nobody falls back to the administrators (``fallback=True``) — and, only when the
    requester is the sole administrator, to them."""
    users: list[User] = []
    if approver_type == ApproverType.USERS:
        users = list(User.objects.filter(pk__in=user_ids, is_active=True).order_by("pk"))
    elif approver_type == ApproverType.MANAGER_CHAIN:
        users = managers_above(requester, max(1, levels))
    elif approver_type == ApproverType.ROLE and role:
        users = list(User.objects.filter(_role_q(role), is_active=True).order_by("pk"))
    elif approver_type == ApproverType.TEAM_ROLE and role:
        users = list(
            User.objects.filter(_role_q(role), team_id__in=team_chain_ids(requester), is_active=True).order_by("pk")
        )
    users = [u for u in users if u.pk != requester.pk and u.username != "system"]
    if users:
        return Resolved(users, False)
    admins = administrators()
    others = [u for u in admins if u.pk != requester.pk]
    return Resolved(others or admins, True)
