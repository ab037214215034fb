"""JSON API of tags (``/api/v1/tags``): everyone lists them, administrators manage them,
whoever may write a record tags it (``/api/v1/tags/{id}/records``)."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router

from salesflow.core.errors import ValidationFailed
from salesflow.core.visibility import get_record_for_user
from salesflow.tags.models import Tag
from salesflow.tags.permissions import TAGGABLE_KINDS
from salesflow.tags.schemas import TagIn, TagOut, TagPatch, TagRecordIn, TagRecordOut
from salesflow.tags.selectors import tags_all
from salesflow.tags.services import TagChanges, tag_add, tag_create, tag_delete, tag_remove, tag_update
from salesflow.users.models import User

router = Router(tags=["tags"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@router.get("", response=list[TagOut], summary="Every tag")
@router.get("/", response=list[TagOut], include_in_schema=False)
def list_tags(request: HttpRequest) -> Any:
    return list(tags_all())


@router.post("", response={201: TagOut}, summary="Create a tag (administrators, or anyone while inline creation is on)")
@router.post("/", response={201: TagOut}, include_in_schema=False)
def create_tag(request: HttpRequest, payload: TagIn) -> tuple[int, Tag]:
    return 201, tag_create(actor=_user(request), name=payload.name, colour=payload.colour)


@router.get("/{int:tag_id}", response=TagOut, summary="One tag")
def get_tag(request: HttpRequest, tag_id: int) -> Tag:
    return get_object_or_404(Tag, pk=tag_id)


@router.patch("/{int:tag_id}", response=TagOut, summary="Rename or recolour a tag (administrators)")
def update_tag(request: HttpRequest, tag_id: int, payload: TagPatch) -> Tag:
    tag = get_object_or_404(Tag, pk=tag_id)
    data = payload.model_dump(exclude_unset=True)
    for key in ("name", "colour"):
        if key in data and data[key] is None:
            raise ValidationFailed(
                _("The tag could not be saved."), field_errors={key: [_("This field may not be null.")]}
            )
    return tag_update(actor=_user(request), tag=tag, **cast(TagChanges, data))


@router.delete("/{int:tag_id}", response={204: None}, summary="Delete a tag (administrators)")
def delete_tag(request: HttpRequest, tag_id: int) -> tuple[int, None]:
    tag_delete(actor=_user(request), tag=get_object_or_404(Tag, pk=tag_id))
    return 204, None


@router.post("/{int:tag_id}/records", response=TagRecordOut, summary="Tag a record")
def tag_record(request: HttpRequest, tag_id: int, payload: TagRecordIn) -> dict[str, Any]:
    user = _user(request)
    tag = get_object_or_404(Tag, pk=tag_id)
    try:
        record = get_record_for_user(user, payload.kind, payload.record_id, write=True)
    except Http404:
        raise ValidationFailed(
            _("No such record."), field_errors={"record_id": [_("Select a valid record.")]}
        ) from None
    return {"added": tag_add(actor=user, record=record, tag=tag)}


@router.delete("/{int:tag_id}/records/{kind}/{int:record_id}", response={204: None}, summary="Untag a record")
def untag_record(request: HttpRequest, tag_id: int, kind: str, record_id: int) -> tuple[int, None]:
    """``kind``: account, contact, lead or opportunity (anything else is 404)."""
    user = _user(request)
    if kind not in TAGGABLE_KINDS:
        raise Http404
    tag = get_object_or_404(Tag, pk=tag_id)
    record = get_record_for_user(user, kind, record_id, write=True)
    tag_remove(actor=user, record=record, tag=tag)
    return 204, None
