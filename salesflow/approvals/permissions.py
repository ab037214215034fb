"""Who may see an approval request, and whom a user stands in for.

A request is visible to: administrators (all); its requester; every approver of any of its
steps; whoever stands in for such an approver today (an active :class:`Delegation`); and
whoever may read its document (the document model's readable rows of
``core.visibility``, when the document app registered them). Unseen → 404.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from salesflow.approvals.models import ApprovalRequest, Delegation, StepApprover
from salesflow.core.approvals import approvables
from salesflow.core.visibility import readable_rows
from salesflow.users.models import User


def today() -> date:
    return timezone.localdate()


def delegator_ids(user: User, *, on: date | None = None) -> list[int]:
    """The users ``user`` stands in for on ``on`` (default today): one query, cached per
    user object and day."""
    day = on or today()
    cache: dict[date, list[int]] = user.__dict__.setdefault("_approval_delegators", {})
    if day not in cache:
        cache[day] = sorted(
            set(
                Delegation.objects.filter(delegate=user, starts_on__lte=day, ends_on__gte=day).values_list(
                    "user_id", flat=True
                )
            )
        )
    return cache[day]


def acting_ids(user: User) -> list[int]:
    """``user`` and the users they stand in for today."""
    return [user.pk, *delegator_ids(user)]


def acting_q(user: User, field: str = "user_id") -> Q:
    """``field`` is ``user`` or someone they stand in for today, as a filter with a subquery:
    building it runs no query (unlike :func:`acting_ids`), so the readable rows of approval
    requests cost nothing on pages that only compose them into a larger query (a timeline's
    visibility probes on every account page)."""
    day = today()
    delegators = Delegation.objects.filter(delegate_id=user.pk, starts_on__lte=day, ends_on__gte=day).values("user_id")
    return Q(**{field: user.pk}) | Q(**{f"{field}__in": delegators})


def requests_visible_to(user: User) -> QuerySet[ApprovalRequest]:
    """The requests ``user`` may open (one SQL query with subqueries)."""
    qs = ApprovalRequest.objects.all()
    if not user.is_active:
        return qs.none()
    if user.is_admin:
        return qs
    involved = StepApprover.objects.filter(acting_q(user), step__request=OuterRef("pk"))
    condition = Q(requester=user) | Q(Exists(involved))
    for item in approvables():
        rows = readable_rows(user, item.model)
        if rows is not None:
            condition |= Q(kind=item.kind, object_id__in=rows.values("pk"))
    return qs.filter(condition)


def get_request_for_user(user: User, pk: object) -> ApprovalRequest:
    """The request with id ``pk`` if ``user`` may see it, else ``Http404``."""
    if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk < 2**63:
        raise Http404("no such approval request")
    request = requests_visible_to(user).filter(pk=pk).select_related("requester", "target_type").first()
    if request is None:
        raise Http404("no such approval request")
    return request
