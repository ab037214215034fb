"""API: who am I (and my preferences), assignable users, territories."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from salesflow.users.models import Territory, User
from salesflow.users.permissions import assignable_users_for
from salesflow.users.schemas import MePatch, TerritoryOut, UserOut
from salesflow.users.services import user_set_time_zone

router = Router(tags=["users"])


def _out(user: User) -> UserOut:
    return UserOut(
        id=user.pk,
        username=user.username,
        display_name=str(user),
        role=user.role,
        team_id=user.team_id,
        time_zone=user.time_zone,
    )


@router.get("/me", response=UserOut, summary="The authenticated user")
def me(request: HttpRequest) -> UserOut:
    user: User = request.user  # type: ignore[assignment]
    return _out(user)


@router.patch("/me", response=UserOut, summary="Change the authenticated user's preferences (time zone)")
def patch_me(request: HttpRequest, payload: MePatch) -> UserOut:
    user: User = request.user  # type: ignore[assignment]
    if payload.time_zone is not None:
        user_set_time_zone(actor=user, user=user, time_zone=payload.time_zone)
    return _out(user)


@router.get("/users", response=list[UserOut], summary="Users the caller may assign records to")
def users(request: HttpRequest) -> list[UserOut]:
    user: User = request.user  # type: ignore[assignment]
    return [_out(u) for u in assignable_users_for(user)[:500]]


@router.get("/territories", response=list[TerritoryOut], summary="The territory tree as a flat list")
def territories(request: HttpRequest) -> list[Territory]:
    return list(Territory.objects.order_by("parent_id", "name"))
