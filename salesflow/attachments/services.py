"""Writes of attachments: add (validated by content), delete, thumbnails, orphan sweeps.

Adding and deleting need write access to the record (``core.visibility.can_write_record``)
and are audited with the RECORD as the event's target, so they show on its timeline.
"""

from __future__ import annotations

import functools
import io
import os
import re
import time
import unicodedata
import warnings
from collections.abc import Iterable
from typing import Any, Protocol

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from salesflow.attachments import storage
from salesflow.attachments.choices import AttachmentKind
from salesflow.attachments.filetypes import FileRefused, inspect_file
from salesflow.attachments.models import Attachment
from salesflow.attachments.permissions import can_change_attachments
from salesflow.core.audit import record_event
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.tasks import enqueue_on_commit
from salesflow.core.visibility import kind_of, record_kinds

FILE_NAME_MAX = 200
THUMBNAIL_SIZE = 240
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_RESERVED = re.compile(r'[<>:"|?*]')


class Upload(Protocol):
    """What Django's ``UploadedFile`` offers (and the demo's in-memory files)."""

    name: str | None
    size: int | None

    def chunks(self, chunk_size: int | None = None) -> Iterable[bytes]: ...


def _refused(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("The file could not be attached."), field_errors={field: [message]})


def clean_file_name(raw: str | None) -> str:
    """The name shown and offered on download: the last path part, NFC, no control characters
    (refused), reserved characters replaced, at most ``FILE_NAME_MAX`` characters (the
    extension kept). Raises ``ValidationFailed`` on ``file``."""
    name = unicodedata.normalize("NFC", raw or "")
    if _CONTROL.search(name):
        raise _refused("file", _("The file name contains control characters."))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(_RESERVED.sub("_", name).split()).lstrip(".").strip()
    if not name:
        raise _refused("file", _("The file needs a name."))
    if len(name) > FILE_NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and len(ext) <= 10:
            name = stem[: FILE_NAME_MAX - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:FILE_NAME_MAX]
    return name


def _size_text(limit: int) -> str:
    return f"{limit / (1024 * 1024):.0f} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


def _too_large(limit: int) -> ValidationFailed:
    return _refused("file", _("The file is larger than %(limit)s.") % {"limit": _size_text(limit)})


def too_large_error() -> ValidationFailed:
    """The refusal of a file above the size limit (on ``file``)."""
    return _too_large(storage.max_bytes())


def attachment_add(*, actor: Any, record: models.Model, upload: Upload | None, kind: str) -> Attachment:
    """Attach ``upload`` to ``record`` (a registered record kind) as ``kind``.

    Checks that ``actor`` may write the record (``Forbidden``), then validates the kind, the
    name, the size (``SALESFLOW_ATTACHMENT_MAX_BYTES``) and the content (type by content,
    matching the extension, images decoded) — ``ValidationFailed`` on ``file`` / ``kind``.
    The file is stored under a random name; the row and the audit event (on the record) are
    written in one transaction, and images get a thumbnail from a background task. A failure
    after the file was written removes it.
    """
    if kind_of(type(record)) is None:
        raise _refused("record", _("Files cannot be attached to this kind of record."))
    if not can_change_attachments(actor, record):
        raise Forbidden(_("You may not change this record."))
    errors: dict[str, list[str]] = {}
    if kind not in AttachmentKind.values:
        errors["kind"] = [_("Choose a kind from the list.")]
    file_name = ""
    limit = storage.max_bytes()
    if upload is None:
        errors["file"] = [_("Choose a file.")]
    else:
        try:
            file_name = clean_file_name(upload.name)
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
        if "file" not in errors and (upload.size or 0) > limit:
            errors["file"] = [str(_too_large(limit).field_errors["file"][0])]
    if errors or upload is None:
        raise ValidationFailed(_("The file could not be attached."), field_errors=errors)

    relative = storage.new_relative_path(timezone.now())
    try:
        size, sha256 = storage.write(upload.chunks(), relative, limit=limit)
    except OverflowError:
        raise _too_large(limit) from None
    try:
        if size == 0:
            raise _refused("file", _("The file is empty."))
        try:
            detected = inspect_file(storage.absolute(relative), file_name, max_pixels=storage.max_pixels())
        except FileRefused as exc:
            raise _refused("file", str(exc)) from None
        with transaction.atomic():
            attachment = Attachment.objects.create(
                content_type=ContentType.objects.get_for_model(record),
                object_id=record.pk,
                kind=kind,
                file_name=file_name,
                stored_path=relative,
                size=size,
                mime_type=detected.mime_type,
                sha256=sha256,
                uploaded_by=actor if getattr(actor, "pk", None) else None,
            )
            record_event(
                actor=actor,
                verb="attachments.attachment.added",
                target=record,
                data={
                    "attachment": attachment.pk,
                    "file_name": file_name,
                    "size": size,
                    "kind": kind,
                    "mime_type": detected.mime_type,
                    "summary": file_name,
                },
            )
            if detected.is_image:
                from salesflow.attachments.tasks import make_thumbnail

                enqueue_on_commit(make_thumbnail, attachment.pk)
    except BaseException:
        storage.remove(relative)
        raise
    return attachment


def attachment_record(attachment: Attachment) -> models.Model | None:
    """The record the attachment belongs to, or ``None`` when it no longer exists."""
    model = ContentType.objects.get_for_id(attachment.content_type_id).model_class()
    if model is None:
        return None
    record: models.Model | None = model._default_manager.filter(pk=attachment.object_id).first()
    return record


@transaction.atomic
def attachment_delete(*, actor: Any, attachment: Attachment) -> None:
    """Delete ``attachment`` when ``actor`` may write its record (``Forbidden`` otherwise;
    ``Conflict`` when it is already gone). Audited on the record; the files are removed
    after the commit."""
    locked = Attachment.objects.select_for_update().filter(pk=attachment.pk).first()
    if locked is None:
        raise Conflict(_("The attachment was already deleted."))
    record = attachment_record(locked)
    if record is None or not can_change_attachments(actor, record):
        raise Forbidden(_("You may not change this record."))
    paths = (locked.stored_path, locked.thumbnail_path)
    data = {"attachment": locked.pk, "file_name": locked.file_name, "size": locked.size, "kind": locked.kind}
    locked.delete()
    record_event(
        actor=actor,
        verb="attachments.attachment.deleted",
        target=record,
        data={**data, "summary": locked.file_name},
    )
    transaction.on_commit(functools.partial(storage.remove, *paths), robust=True)


def attachment_make_thumbnail(*, attachment_id: int) -> bool:
    """Write the thumbnail (at most ``THUMBNAIL_SIZE`` px, PNG or JPEG) of an image attachment.

    Idempotent: does nothing for a missing, non-image or already-thumbnailed attachment.
    A derived file, not a business change: not audited. Returns whether one was written.
    """
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None or not attachment.is_image or attachment.thumbnail_path:
        return False
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(storage.absolute(attachment.stored_path)) as opened:
                if opened.size[0] * opened.size[1] > storage.max_pixels():
                    return False
                image = ImageOps.exif_transpose(opened)
                image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
                if attachment.mime_type == "image/jpeg":
                    image.convert("RGB").save(buffer, format="JPEG", quality=85)
                    suffix = ".thumb.jpg"
                else:
                    image.convert("RGBA").save(buffer, format="PNG", optimize=True)
                    suffix = ".thumb.png"
    except Exception:  # a file that no longer decodes gets no thumbnail; the panel shows an icon
        return False
    relative = attachment.stored_path + suffix
    storage.remove(relative)  # a previous run that crashed before saving the row
    storage.write([buffer.getvalue()], relative, limit=storage.max_bytes())
    if not Attachment.objects.filter(pk=attachment.pk, thumbnail_path="").update(thumbnail_path=relative):
        storage.remove(relative)
        return False
    return True


@transaction.atomic
def attachments_purge_orphans() -> int:
    """Delete the attachments whose record no longer exists (rows now, files after the commit).

    Run after every record deletion (a subscriber of the ``*.deleted`` events, which also
    covers cascades such as an account's activities) and by the periodic job. Not audited:
    the record's deletion is. Returns how many were removed.
    """
    removed = 0
    for model in record_kinds().values():
        ct = ContentType.objects.get_for_model(model)
        orphans = Attachment.objects.filter(content_type=ct).exclude(
            Exists(model._default_manager.filter(pk=OuterRef("object_id")))
        )
        rows = list(orphans.values_list("pk", "stored_path", "thumbnail_path"))
        if not rows:
            continue
        Attachment.objects.filter(pk__in=[pk for pk, _s, _t in rows]).delete()
        paths = [p for _pk, stored, thumb in rows for p in (stored, thumb) if p]
        transaction.on_commit(functools.partial(storage.remove, *paths), robust=True)
        removed += len(rows)
    return removed


def attachments_purge_stray_files(*, older_than_seconds: int = 86_400) -> int:
    """Remove files under the attachments directory that no row names (an upload whose
    transaction rolled back, a crash between writing and saving), once they are a day old."""
    base = storage.root()
    if not base.is_dir():
        return 0
    known = set(Attachment.objects.values_list("stored_path", flat=True))
    known |= set(Attachment.objects.exclude(thumbnail_path="").values_list("thumbnail_path", flat=True))
    cutoff = time.time() - older_than_seconds
    removed = 0
    for folder, _dirs, files in os.walk(base):
        for name in files:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, base).replace(os.sep, "/")
            try:
                old = os.path.getmtime(path) < cutoff
            except OSError:
                continue
            if relative not in known and old:
                storage.remove(relative)
                removed += 1
    return removed
