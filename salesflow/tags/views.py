"""Tag pages: the administrators' settings page (create, rename, recolour, delete, the
inline-creation setting) and the tag card of a record (htmx: add, create inline, remove)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from salesflow.core.errors import ServiceError
from salesflow.core.visibility import can_write_record, get_record_for_user
from salesflow.core.web import apply_service_error
from salesflow.tags.forms import TagAddForm, TagForm, TagSettingsForm
from salesflow.tags.models import Tag
from salesflow.tags.permissions import TAGGABLE_KINDS, can_manage_tags, current_settings, may_create_tag
from salesflow.tags.selectors import tags_of, tags_with_counts
from salesflow.tags.services import (
    tag_add,
    tag_add_by_name,
    tag_create,
    tag_delete,
    tag_remove,
    tag_settings_update,
    tag_update,
)
from salesflow.users.models import User


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _require_manager(user: User) -> None:
    if not can_manage_tags(user):
        raise PermissionDenied(_("Only administrators manage tags."))


@require_http_methods(["GET", "POST"])
def tag_settings_view(request: HttpRequest) -> HttpResponse:
    """Administrators: every tag with its number of records, a new-tag form and the setting."""
    user = _user(request)
    _require_manager(user)
    form = TagForm(prefix="new")
    settings_form = TagSettingsForm(initial={"inline_create": current_settings().inline_create}, prefix="settings")
    if request.method == "POST":
        if "settings-submit" in request.POST:
            settings_form = TagSettingsForm(request.POST, prefix="settings")
            if settings_form.is_valid():
                tag_settings_update(actor=user, inline_create=settings_form.cleaned_data["inline_create"])
                messages.success(request, _("The tag settings were saved."))
                return redirect("tags:settings")
        else:
            form = TagForm(request.POST, prefix="new")
            if form.is_valid():
                try:
                    tag = tag_create(actor=user, **form.cleaned_data)
                except ServiceError as exc:
                    apply_service_error(form, exc)
                else:
                    messages.success(request, _("The tag “%(name)s” was created.") % {"name": tag.name})
                    return redirect("tags:settings")
    tags = list(tags_with_counts())
    rows = [(tag, TagForm(initial={"name": tag.name, "colour": tag.colour}, prefix=f"t{tag.pk}")) for tag in tags]
    return render(request, "tags/settings.html", {"form": form, "settings_form": settings_form, "rows": rows})


@require_POST
def tag_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    _require_manager(user)
    tag = get_object_or_404(Tag, pk=pk)
    form = TagForm(request.POST, prefix=f"t{tag.pk}")
    if form.is_valid():
        try:
            tag_update(actor=user, tag=tag, **form.cleaned_data)
        except ServiceError as exc:
            messages.error(request, " ".join([str(exc.message), *(m for ms in exc.field_errors.values() for m in ms)]))
        else:
            messages.success(request, _("The tag was saved."))
    else:
        messages.error(request, _("The tag could not be saved."))
    return redirect("tags:settings")


@require_POST
def tag_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    _require_manager(user)
    tag = get_object_or_404(Tag, pk=pk)
    tag_delete(actor=user, tag=tag)
    messages.success(request, _("The tag “%(name)s” was deleted.") % {"name": tag.name})
    return redirect("tags:settings")


def _record(user: User, kind: str, pk: int) -> models.Model:
    if kind not in TAGGABLE_KINDS:
        raise Http404
    return get_record_for_user(user, kind, pk)


def _card(
    request: HttpRequest, kind: str, record: models.Model, form: TagAddForm | None = None, status: int = 200
) -> HttpResponse:
    user = _user(request)
    tags = tags_of(record)
    context: dict[str, Any] = {
        "kind": kind,
        "record": record,
        "tags": tags,
        "can_write": can_write_record(user, record),
        "may_create": may_create_tag(user),
        "form": form or TagAddForm(exclude={t.pk for t in tags}, auto_id=f"tag_{kind}_%s"),
    }
    return render(request, "tags/partials/tag_card.html", context, status=status)


@require_http_methods(["GET", "POST"])
def tag_card_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The tags of a record (htmx partial of the detail pages); POST adds one."""
    user = _user(request)
    record = _record(user, kind, pk)
    if request.method != "POST":
        return _card(request, kind, record)
    record = get_record_for_user(user, kind, pk, write=True)
    form = TagAddForm(request.POST, auto_id=f"tag_{kind}_%s")
    if form.is_valid():
        try:
            tag_id = form.cleaned_data["tag"]
            if tag_id is not None:
                tag = Tag.objects.filter(pk=tag_id).first()
                if tag is None:
                    raise Http404
                tag_add(actor=user, record=record, tag=tag)
            else:
                tag_add_by_name(actor=user, record=record, name=form.cleaned_data["name"])
            return _card(request, kind, record)
        except ServiceError as exc:
            if exc.status_code == 403:
                raise
            apply_service_error(form, exc)
    return _card(request, kind, record, form, status=200 if getattr(request, "htmx", False) else 400)


@require_POST
def tag_remove_view(request: HttpRequest, kind: str, pk: int, tag_id: int) -> HttpResponse:
    user = _user(request)
    _record(user, kind, pk)
    record = get_record_for_user(user, kind, pk, write=True)
    tag = get_object_or_404(Tag, pk=tag_id)
    tag_remove(actor=user, record=record, tag=tag)
    return _card(request, kind, record)
