"""Who sees whose records: the ownership scope under :mod:`salesflow.users.policy`.

Rules (PRODUCT.md): a rep sees their own records; a manager sees their team subtree; an
assistant sees the records of reps delegated to them; support reads team records and
writes only activities; an administrator sees everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from salesflow.core.errors import ValidationFailed
from salesflow.users.choices import Role
from salesflow.users.models import Team, User

SYSTEM_USERNAME = "system"

_T = TypeVar("_T")
#: the organisation read once per block (:func:`org_snapshot`); ``None`` outside one
_ORG_MEMO: ContextVar[dict[Any, Any] | None] = ContextVar("salesflow_org_memo", default=None)


@contextmanager
def org_snapshot() -> Iterator[None]:
    """Inside the block the team tree (:func:`team_subtree_ids`, :func:`managed_team_ids`)
    and the team history (``users.selectors.team_history()`` of everyone) are read from the
    database once and then reused: for a read-only page that asks the same question of the
    organisation many times (scorecards, dashboards). Nested blocks share the outer memo.
    Never wrap a block that changes teams or memberships."""
    if _ORG_MEMO.get() is not None:
        yield
        return
    token = _ORG_MEMO.set({})
    try:
        yield
    finally:
        _ORG_MEMO.reset(token)


def org_memoised(key: Any, compute: Callable[[], _T]) -> _T:
    """``compute()`` once per :func:`org_snapshot` block for ``key`` (every time outside one)."""
    memo = _ORG_MEMO.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    found: _T = memo[key]
    return found


def is_system_actor(user: object) -> bool:
    """The named actor of jobs and imports (``users.services.system_actor``): it sees and
    writes everything, and cannot log in (inactive, no usable password)."""
    return (
        isinstance(user, User)
        and user.username == SYSTEM_USERNAME
        and not user.is_active
        and not user.has_usable_password()
    )


def team_subtree_ids(root_ids: list[int]) -> set[int]:
    """Ids of the given teams and every team below them (one query per tree level).

    Safe against a cycle in the data (the admin refuses one, but rows can be edited
    elsewhere): a team already collected is never expanded again.
    """

    def compute() -> frozenset[int]:
        result: set[int] = set(root_ids)
        frontier = list(root_ids)
        while frontier:
            frontier = [
                pk
                for pk in Team.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
                if pk not in result
            ]
            result.update(frontier)
        return frozenset(result)

    return set(org_memoised(("subtree", tuple(sorted(set(root_ids)))), compute))


def _subtree_user_ids(user: User) -> set[int]:
    managed = list(Team.objects.filter(manager=user).values_list("pk", flat=True))
    ids = {user.pk}
    teams: set[int] = set()
    if managed:
        teams = team_subtree_ids(managed)
        ids.update(User.objects.filter(team_id__in=teams).values_list("pk", flat=True))
    # kept for the request, like the owner ids (the pool membership rule reads it)
    user._sf_managed_team_ids = teams  # type: ignore[attr-defined]
    return ids


def visible_owner_ids(user: User) -> set[int] | None:
    """Owners whose records ``user`` may see; ``None`` means every record (administrators).

    The result is cached on the user object for the length of the request.
    """
    cached: set[int] | bool | None = getattr(user, "_sf_visible_owner_ids", False)
    if cached is not False:
        return cached  # type: ignore[return-value]
    result: set[int] | None
    if is_system_actor(user):
        result = None
    elif not user.is_authenticated or not user.is_active:
        result = set()
    elif user.is_admin:
        result = None
    elif user.role == Role.MANAGER:
        result = _subtree_user_ids(user)
    elif user.role == Role.ASSISTANT:
        result = {user.pk, *user.delegated_reps.values_list("pk", flat=True)}
    elif user.role == Role.SUPPORT:
        team_ids = team_subtree_ids([user.team_id]) if user.team_id else set()
        result = {user.pk, *User.objects.filter(team_id__in=team_ids).values_list("pk", flat=True)}
    else:
        result = {user.pk}
    user._sf_visible_owner_ids = result  # type: ignore[attr-defined]
    return result


def writable_owner_ids(user: User) -> set[int] | None:
    """Owners whose records ``user`` may change; ``None`` means all. Support changes none."""
    if is_system_actor(user):
        return None
    if not user.is_authenticated or not user.is_active:
        return set()
    if user.role == Role.SUPPORT and not user.is_admin:
        return set()
    return visible_owner_ids(user)


def can_see_unowned(user: User) -> bool:
    """Unassigned records (e.g. new web leads) are visible to administrators and managers."""
    if is_system_actor(user):
        return True
    return user.is_authenticated and user.is_active and (user.is_admin or user.role == Role.MANAGER)


def assignable_users_for(user: User) -> QuerySet[User]:
    """Users that ``user`` may make the owner of a record: within their writable scope."""
    qs = User.objects.filter(is_active=True).exclude(role=Role.SUPPORT)
    ids = writable_owner_ids(user)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.order_by("display_name", "username")


def managed_team_ids(user: User) -> set[int]:
    """Teams ``user`` manages, with every team below them (empty for everyone but managers
    and administrators; an administrator manages every team)."""
    if not user.is_authenticated or not user.is_active:
        return set()
    if user.is_admin:
        return set(org_memoised("all_teams", lambda: frozenset(Team.objects.values_list("pk", flat=True))))
    if user.role != Role.MANAGER:
        return set()
    if getattr(user, "_sf_visible_owner_ids", False) is not False and hasattr(user, "_sf_managed_team_ids"):
        return set(user._sf_managed_team_ids)
    roots = org_memoised(
        ("managed_roots", user.pk), lambda: tuple(Team.objects.filter(manager=user).values_list("pk", flat=True))
    )
    return team_subtree_ids(list(roots))


def assignable_owner(user: User, owner_id: int | None, *, field: str = "owner_id") -> User:
    """The user ``owner_id`` when ``user`` may make them an owner (``assignable_users_for``);
    else ``ValidationFailed`` naming ``field`` — what bulk reassignment and the API ask first."""
    owner = assignable_users_for(user).filter(pk=owner_id).first() if owner_id is not None else None
    if owner is None:
        raise ValidationFailed(
            _("The input is not valid."), field_errors={field: [_("Select a user you may assign records to.")]}
        )
    return owner
