"""JSON API of customer protection: ``/api/v1/known-customers`` (administrators) and
``/api/v1/collisions``, through the same services as the pages."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.core.errors import Forbidden
from salesflow.protection.models import Collision, KnownCustomerLoad
from salesflow.protection.permissions import can_decide, can_manage_known_customers
from salesflow.protection.schemas import (
    CollisionDecideIn,
    CollisionFilters,
    CollisionOut,
    CollisionPage,
    KnownCustomerBulkIn,
    KnownCustomerFilters,
    KnownCustomerLoadOut,
    KnownCustomerPage,
)
from salesflow.protection.selectors import collision_queue, known_customers_search
from salesflow.protection.services import collision_decide, get_collision_for_user, known_customers_load
from salesflow.users.models import User

known_customers_router = Router(tags=["protection"])
collisions_router = Router(tags=["protection"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _require_admin(user: User) -> None:
    if not can_manage_known_customers(user):
        raise Forbidden(_("Only administrators see and load known-customer lists."))


@known_customers_router.get("", response=KnownCustomerPage, summary="Search the known-customer list")
@known_customers_router.get("/", response=KnownCustomerPage, include_in_schema=False)
def list_known_customers(request: HttpRequest, filters: Query[KnownCustomerFilters]) -> dict[str, Any]:
    user = _user(request)
    _require_admin(user)
    qs = known_customers_search(filters.q)
    return {"count": qs.count(), "items": list(qs[filters.offset : filters.offset + filters.limit])}


@known_customers_router.post(
    "/bulk", response={200: KnownCustomerLoadOut, 202: KnownCustomerLoadOut}, summary="Load a known-customer list"
)
def bulk_load(request: HttpRequest, payload: KnownCustomerBulkIn) -> tuple[int, KnownCustomerLoad]:
    """Create or update rows by ``(source_system, external_id)``; rejected rows are listed
    with their number, field and reason. Large lists answer 202 and load in the background:
    poll ``GET /known-customers/loads/{id}``."""
    load = known_customers_load(
        actor=_user(request),
        source_system=payload.source_system,
        rows=[row.dict() for row in payload.rows],
    )
    return (200 if load.status == "done" else 202), load


@known_customers_router.get("/loads/{int:load_id}", response=KnownCustomerLoadOut, summary="One list load")
def get_load(request: HttpRequest, load_id: int) -> KnownCustomerLoad:
    load = KnownCustomerLoad.objects.defer("rows").filter(pk=load_id).first()
    if load is None:  # an unknown id is a 404 whoever asks; then the administrator check
        raise Http404
    _require_admin(_user(request))
    return load


def _collision_out(user: User, collision: Collision) -> dict[str, Any]:
    return {
        **{field: getattr(collision, field) for field in CollisionOut.model_fields if hasattr(collision, field)},
        "reasons": collision.reason_texts,
        "may_decide": can_decide(user, collision),
    }


@collisions_router.get("", response=CollisionPage, summary="Collisions I may read (or decide)")
@collisions_router.get("/", response=CollisionPage, include_in_schema=False)
def list_collisions(request: HttpRequest, filters: Query[CollisionFilters]) -> dict[str, Any]:
    user = _user(request)
    qs = collision_queue(user, scope=filters.scope, status=filters.status)
    page = list(qs[filters.offset : filters.offset + filters.limit])
    return {"count": qs.count(), "items": [_collision_out(user, c) for c in page]}


@collisions_router.get("/{int:collision_id}", response=CollisionOut, summary="One collision")
def get_collision(request: HttpRequest, collision_id: int) -> dict[str, Any]:
    user = _user(request)
    try:
        return _collision_out(user, get_collision_for_user(user, collision_id))
    except Collision.DoesNotExist:
        raise Http404 from None


@collisions_router.post("/{int:collision_id}/decide", response=CollisionOut, summary="Decide a collision")
def decide_collision(request: HttpRequest, collision_id: int, payload: CollisionDecideIn) -> dict[str, Any]:
    """keep, transfer (with direction) or share; managers above both reps and administrators."""
    user = _user(request)
    try:
        collision = get_collision_for_user(user, collision_id)
    except Collision.DoesNotExist:
        raise Http404 from None
    collision_decide(
        actor=user, collision=collision, decision=payload.decision, direction=payload.direction, note=payload.note
    )
    return _collision_out(user, collision)
