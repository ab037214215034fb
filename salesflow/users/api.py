"""API: who am I (and my preferences), assignable users, territories, and the shares of
accounts, leads and deals."""

from __future__ import annotations

from typing import cast

from django.db import models
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Router

from salesflow.core.errors import ValidationFailed
from salesflow.core.visibility import readable_rows
from salesflow.users.models import SavedView, Share, Team, Territory, User
from salesflow.users.permissions import assignable_users_for
from salesflow.users.policy import SHAREABLE
from salesflow.users.schemas import (
    MePatch,
    SavedViewIn,
    SavedViewOut,
    SavedViewPatch,
    ShareIn,
    ShareOut,
    TerritoryOut,
    UserOut,
)
from salesflow.users.selectors import saved_view_for_user, saved_views_for, shareable_users, shares_of
from salesflow.users.services import (
    saved_view_create,
    saved_view_delete,
    saved_view_update,
    share_grant,
    share_revoke,
    user_set_time_zone,
)

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


# --- shares --------------------------------------------------------------------------------


def _share_out(share: Share) -> ShareOut:
    return ShareOut(
        id=share.pk,
        grantee_user_id=share.grantee_user_id,
        grantee_team_id=share.grantee_team_id,
        grantee_name=str(share.grantee_user or share.grantee_team or ""),
        access=share.access,
        created_by_id=share.created_by_id,
        created_at=share.created_at,
    )


def _target(request: HttpRequest, kind: str, pk: int) -> models.Model:
    model = SHAREABLE.get(kind)
    rows = readable_rows(request.user, model) if model is not None else None
    record = rows.filter(pk=pk).first() if rows is not None else None
    if record is None:
        raise Http404(f"{kind} not found")
    return cast(models.Model, record)


def _add_share_routes(prefix: str, kind: str) -> None:
    tag = [prefix.strip("/")]

    @router.get(
        f"{prefix}/{{int:pk}}/shares",
        response=list[ShareOut],
        summary=f"Who the {kind} is shared with",
        tags=tag,
        operation_id=f"{kind}_shares_list",
    )
    def list_shares(request: HttpRequest, pk: int) -> list[ShareOut]:
        return [_share_out(s) for s in shares_of(_target(request, kind, pk))]

    @router.post(
        f"{prefix}/{{int:pk}}/shares",
        response={201: ShareOut},
        summary=f"Share the {kind}",
        tags=tag,
        operation_id=f"{kind}_shares_add",
    )
    def add_share(request: HttpRequest, pk: int, payload: ShareIn) -> tuple[int, ShareOut]:
        target = _target(request, kind, pk)
        grantee_user = grantee_team = None
        errors: dict[str, list[str]] = {}
        if payload.user_id is not None:
            grantee_user = shareable_users().filter(pk=payload.user_id).first()
            if grantee_user is None:
                errors["user_id"] = [_("Select a valid user.")]
        if payload.team_id is not None:
            grantee_team = Team.objects.filter(pk=payload.team_id).first()
            if grantee_team is None:
                errors["team_id"] = [_("Select a valid team.")]
        if errors:
            raise ValidationFailed(_("The record could not be shared."), field_errors=errors)
        share = share_grant(
            actor=cast(User, request.user),
            target=target,
            grantee_user=grantee_user,
            grantee_team=grantee_team,
            access=payload.access,
        )
        return 201, _share_out(share)

    @router.delete(
        f"{prefix}/{{int:pk}}/shares/{{int:share_id}}",
        response={204: None},
        summary=f"Stop sharing the {kind}",
        tags=tag,
        operation_id=f"{kind}_shares_delete",
    )
    def delete_share(request: HttpRequest, pk: int, share_id: int) -> tuple[int, None]:
        share = shares_of(_target(request, kind, pk)).filter(pk=share_id).first()
        if share is None:
            raise Http404("share not found")
        share_revoke(actor=cast(User, request.user), share=share)
        return 204, None


for _prefix, _kind in (("/accounts", "account"), ("/leads", "lead"), ("/opportunities", "opportunity")):
    _add_share_routes(_prefix, _kind)


# ------------------------------------------------------------------ saved views (issue 6)


def _view_out(view: SavedView, user: User) -> SavedViewOut:
    return SavedViewOut(
        id=view.pk,
        list=view.list_key,
        name=view.name,
        query=view.query,
        owner_id=view.owner_id,
        shared_team_id=view.shared_team_id,
        mine=view.owner_id == user.pk,
        created_at=view.created_at,
    )


def _team_or_error(team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first() if 0 < team_id < 2**63 else None
    if team is None:
        raise ValidationFailed(_("The input is not valid."), field_errors={"shared_team_id": [_("Unknown team.")]})
    return team


@router.get("/saved-views", response=list[SavedViewOut], summary="Saved views of a list: mine and my team's")
def list_saved_views(request: HttpRequest, list: str = "") -> list[SavedViewOut]:
    from salesflow.core.exports import list_spec

    user = cast(User, request.user)
    if list_spec(list) is None:
        raise ValidationFailed(_("The input is not valid."), field_errors={"list": [_("Unknown list.")]})
    return [_view_out(v, user) for v in saved_views_for(user, list)]


@router.post("/saved-views", response={201: SavedViewOut}, summary="Save a list's filter and sort as a named view")
def create_saved_view(request: HttpRequest, payload: SavedViewIn) -> tuple[int, SavedViewOut]:
    user = cast(User, request.user)
    view = saved_view_create(
        actor=user,
        list_key=payload.list,
        name=payload.name,
        query=payload.query,
        shared_team=_team_or_error(payload.shared_team_id),
    )
    return 201, _view_out(view, user)


@router.get("/saved-views/{int:view_id}", response=SavedViewOut, summary="One saved view")
def get_saved_view(request: HttpRequest, view_id: int) -> SavedViewOut:
    user = cast(User, request.user)
    return _view_out(saved_view_for_user(user, view_id), user)


@router.patch("/saved-views/{int:view_id}", response=SavedViewOut, summary="Rename, change or (un)share my view")
def patch_saved_view(request: HttpRequest, view_id: int, payload: SavedViewPatch) -> SavedViewOut:
    user = cast(User, request.user)
    view = saved_view_for_user(user, view_id, write=True)
    fields = payload.model_fields_set
    kwargs: dict[str, object] = {}
    if "shared_team_id" in fields:
        kwargs["shared_team"] = _team_or_error(payload.shared_team_id)
    view = saved_view_update(actor=user, view=view, name=payload.name, query=payload.query, **kwargs)  # type: ignore[arg-type]
    return _view_out(view, user)


@router.delete("/saved-views/{int:view_id}", response={204: None}, summary="Delete my saved view")
def delete_saved_view(request: HttpRequest, view_id: int) -> tuple[int, None]:
    user = cast(User, request.user)
    saved_view_delete(actor=user, view=saved_view_for_user(user, view_id, write=True))
    return 204, None
