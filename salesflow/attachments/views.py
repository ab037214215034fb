"""Attachments panel on record pages (htmx), upload, download, thumbnail and delete.

Thin: records are resolved through the record-kind registry (unseen → 404, read-only → 403)
and every write goes through the services.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from salesflow.attachments import storage
from salesflow.attachments.downloads import file_response
from salesflow.attachments.forms import AttachmentForm
from salesflow.attachments.permissions import can_change_attachments, get_attachment_for_user
from salesflow.attachments.selectors import attachments_of
from salesflow.attachments.services import attachment_add, attachment_delete, too_large_error
from salesflow.attachments.uploads import upload_was_too_large
from salesflow.core.errors import ServiceError
from salesflow.core.visibility import get_record_for_user, kind_of
from salesflow.core.web import apply_service_error
from salesflow.users.models import User

# Where each kind's record page lives (the non-htmx fallback returns there).
_DETAIL_URLS = {
    "account": "accounts:detail",
    "contact": "contacts:detail",
    "lead": "leads:detail",
    "opportunity": "opportunities:detail",
    "activity": "activities:detail",
    "order": "orders:detail",  # issue 9 (orders): acceptance and installation files
}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _detail_url(kind: str, record: models.Model) -> str:
    try:
        return reverse(_DETAIL_URLS.get(kind, ""), args=[record.pk])
    except NoReverseMatch:
        return "/"


def _panel(
    request: HttpRequest, kind: str, record: models.Model, form: AttachmentForm | None = None, status: int = 200
) -> HttpResponse:
    user = _user(request)
    context: dict[str, Any] = {
        "record_kind": kind,
        "record": record,
        "attachments": list(attachments_of(record)),
        "can_write": can_change_attachments(user, record),
        "form": form or AttachmentForm(auto_id=f"attachment_{kind}_{record.pk}_%s"),
        "max_size": storage.max_bytes(),
    }
    return render(request, "attachments/partials/panel.html", context, status=status)


@require_GET
def attachment_panel_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The record's attachments card (loaded by the record page with ``hx-get``)."""
    record = get_record_for_user(_user(request), kind, pk)
    return _panel(request, kind, record)


@require_POST
def attachment_upload_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Attach a file (multipart form); answers the panel again (htmx) or returns to the record."""
    user = _user(request)
    record = get_record_for_user(user, kind, pk, write=True)
    form = AttachmentForm(request.POST, request.FILES, auto_id=f"attachment_{kind}_{pk}_%s")
    htmx = bool(getattr(request, "htmx", False))
    if upload_was_too_large(request):
        form.is_valid()
        form.errors.pop("file", None)
        apply_service_error(form, too_large_error())
    elif form.is_valid():
        try:
            attachment = attachment_add(
                actor=user, record=record, upload=form.cleaned_data["file"], kind=form.cleaned_data["kind"]
            )
        except ServiceError as exc:
            if exc.status_code == 403:
                raise
            apply_service_error(form, exc)
        else:
            if htmx:
                return _panel(request, kind, record)
            messages.success(request, _("Attached %(name)s.") % {"name": attachment.file_name})
            return HttpResponseRedirect(_detail_url(kind, record))
    if not htmx:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, str(message))
        return HttpResponseRedirect(_detail_url(kind, record))
    # htmx swaps only 2xx answers: the panel with its errors replaces the old one
    return _panel(request, kind, record, form)


@require_GET
def attachment_download_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The original file, as a download, for whoever may read the record."""
    attachment, _record = get_attachment_for_user(_user(request), pk)
    return file_response(attachment)


@require_GET
def attachment_thumbnail_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The generated thumbnail of an image attachment (inline), for whoever may read the record."""
    attachment, _record = get_attachment_for_user(_user(request), pk)
    return file_response(attachment, thumbnail=True)


@require_POST
def attachment_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete an attachment (writers of the record); answers the panel again or returns to the record."""
    user = _user(request)
    attachment, record = get_attachment_for_user(user, pk, write=True)
    kind = kind_of(type(record)) or ""
    try:
        attachment_delete(actor=user, attachment=attachment)
    except ServiceError as exc:
        if exc.status_code == 403:
            raise
        messages.error(request, str(exc.message))
    if getattr(request, "htmx", False):
        return _panel(request, kind, record)
    return HttpResponseRedirect(_detail_url(kind, record))
