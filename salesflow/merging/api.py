"""JSON API of access requests (``/api/v1/access-requests``) and merges
(``/api/v1/merges``), through the same services as the pages."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from ninja import Query, Router

from salesflow.dedupe.matching import find_candidates
from salesflow.merging.checks import describe_candidates
from salesflow.merging.models import AccessRequest, MergeRecord
from salesflow.merging.schemas import (
    AccessRequestFilters,
    AccessRequestIn,
    AccessRequestOut,
    AccessRequestPage,
    Kind,
    MergeCandidateOut,
    MergeIn,
    MergeOut,
)
from salesflow.merging.selectors import matcher_values, record_for_user, requests_made_by, requests_to_decide
from salesflow.merging.services import access_request_create, access_request_decide, merge_undo, record_merge
from salesflow.parties.schemas import ErrorOut
from salesflow.users.models import User

access_router = Router(tags=["duplicates"])
merges_router = Router(tags=["duplicates"])
ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@access_router.get("", response=AccessRequestPage, summary="Access requests I decide on, or my own")
@access_router.get("/", response=AccessRequestPage, include_in_schema=False)
def list_access_requests(request: HttpRequest, filters: Query[AccessRequestFilters]) -> dict[str, Any]:
    user = _user(request)
    qs = requests_to_decide(user) if filters.box == "to_me" else requests_made_by(user)
    if filters.status:
        qs = qs.filter(status=filters.status)
    return {"count": qs.count(), "items": list(qs[filters.offset : filters.offset + filters.limit])}


@access_router.post("", response={201: AccessRequestOut, **ERRORS}, summary="Ask a record's owner for access")
@access_router.post("/", response={201: AccessRequestOut, **ERRORS}, include_in_schema=False)
def create_access_request(request: HttpRequest, payload: AccessRequestIn) -> tuple[int, AccessRequest]:
    made = access_request_create(
        actor=_user(request),
        kind=payload.kind,
        object_id=payload.object_id,
        access=payload.access,
        message=payload.message,
    )
    return 201, made


def _decidable(user: User, pk: int) -> AccessRequest:
    found = requests_to_decide(user).filter(pk=pk).first()
    if found is None:
        raise Http404("request not found")
    return found


@access_router.post("/{int:request_id}/grant", response={200: AccessRequestOut, **ERRORS}, summary="Grant (share)")
def grant_access_request(request: HttpRequest, request_id: int) -> AccessRequest:
    user = _user(request)
    return access_request_decide(actor=user, request=_decidable(user, request_id), grant=True)


@access_router.post("/{int:request_id}/decline", response={200: AccessRequestOut, **ERRORS}, summary="Decline")
def decline_access_request(request: HttpRequest, request_id: int) -> AccessRequest:
    user = _user(request)
    return access_request_decide(actor=user, request=_decidable(user, request_id), grant=False)


def _merge_out(merge: MergeRecord) -> dict[str, Any]:
    snapshot: dict[str, Any] = merge.snapshot or {}
    return {
        "id": merge.pk,
        "kind": merge.kind,
        "survivor_id": merge.survivor_id,
        "loser_id": merge.loser_id,
        "loser_label": merge.loser_label,
        "actor_id": merge.actor_id,
        "created_at": merge.created_at,
        "undone_at": merge.undone_at,
        "undone_by_id": merge.undone_by_id,
        "moved": len(snapshot.get("moved", [])),
        "dropped": len(snapshot.get("dropped", [])),
        "changed_fields": sorted(snapshot.get("survivor_changes", {})),
    }


@merges_router.get(
    "/candidates/{kind}/{int:record_id}",
    response={200: list[MergeCandidateOut], **ERRORS},
    summary="Possible duplicates of a record (others' records named by kind and owner only)",
)
def record_candidates(request: HttpRequest, kind: str, record_id: int) -> list[dict[str, Any]]:
    user = _user(request)
    record = record_for_user(user, kind, record_id)  # an unknown kind is 404 like an unknown id
    found = find_candidates(cast(Kind, kind), matcher_values(kind, record), exclude=[(cast(Kind, kind), record.pk)])
    return describe_candidates(user, found)


@merges_router.post("", response={201: MergeOut, **ERRORS}, summary="Merge one record into another")
@merges_router.post("/", response={201: MergeOut, **ERRORS}, include_in_schema=False)
def create_merge(request: HttpRequest, payload: MergeIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    survivor = record_for_user(user, payload.kind, payload.survivor_id)
    loser = record_for_user(user, payload.kind, payload.loser_id)
    merge = record_merge(
        actor=user, kind=payload.kind, survivor=survivor, loser=loser, field_choices=payload.field_choices
    )
    return 201, _merge_out(merge)


def _merge_for_user(user: User, pk: int) -> MergeRecord:
    merge = MergeRecord.objects.filter(pk=pk).first()
    if merge is None:
        raise Http404("merge not found")
    record_for_user(user, merge.kind, merge.survivor_id)
    return merge


@merges_router.get("/{int:merge_id}", response={200: MergeOut, **ERRORS}, summary="One merge")
def get_merge(request: HttpRequest, merge_id: int) -> dict[str, Any]:
    return _merge_out(_merge_for_user(_user(request), merge_id))


@merges_router.post("/{int:merge_id}/undo", response={200: MergeOut, **ERRORS}, summary="Undo a merge")
def undo_merge(request: HttpRequest, merge_id: int) -> dict[str, Any]:
    user = _user(request)
    merge = merge_undo(actor=user, merge=_merge_for_user(user, merge_id))
    return _merge_out(merge)
