"""The one way a stored file leaves the server (shared by the web view and the API).

Callers have checked the record's visibility (``get_attachment_for_user``). Originals are
always a download (``Content-Disposition: attachment`` with an RFC 5987 ``filename*`` for
non-ASCII names) of their detected type; only our own thumbnails (PNG/JPEG we generated)
are shown inline. Every answer says ``nosniff`` and carries a CSP that runs nothing.
"""

from __future__ import annotations

from django.http import FileResponse, Http404

from salesflow.attachments import storage
from salesflow.attachments.models import Attachment

_SANDBOX = "default-src 'none'; sandbox"


def file_response(attachment: Attachment, *, thumbnail: bool = False) -> FileResponse:
    relative = attachment.thumbnail_path if thumbnail else attachment.stored_path
    if not relative:
        raise Http404("no such file")
    try:
        handle = storage.absolute(relative).open("rb")
    except OSError:
        raise Http404("file missing") from None
    if thumbnail:
        content_type = "image/jpeg" if relative.endswith(".jpg") else "image/png"
        response = FileResponse(handle, content_type=content_type)
        response["Content-Disposition"] = "inline"
        response["Cache-Control"] = "private, max-age=3600"
    else:
        response = FileResponse(
            handle, as_attachment=True, filename=attachment.file_name, content_type=attachment.mime_type
        )
        response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = _SANDBOX
    return response
