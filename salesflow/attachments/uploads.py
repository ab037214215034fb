"""An upload handler that stops oversized attachments while they arrive.

Installed first in ``FILE_UPLOAD_HANDLERS``. On the attachment upload paths only, a file
part that grows past ``SALESFLOW_ATTACHMENT_MAX_BYTES`` is skipped — the rest of it is read
and dropped, never written to a temporary file — and the request is marked, so the view or
endpoint answers "The file is larger than 20 MB" on the ``file`` field instead of storing
gigabytes first.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest

from salesflow.attachments import storage

# issue 8: import uploads are stopped while they arrive too (same limit)
UPLOAD_PATHS = ("/attachments/upload/", "/api/v1/attachments", "/imports/new/", "/api/v1/imports")
TOO_LARGE = "attachment_too_large"


def upload_was_too_large(request: HttpRequest) -> bool:
    """Whether the handler skipped a file part of ``request`` for its size."""
    return bool(getattr(request, TOO_LARGE, False))


class AttachmentSizeLimitHandler(FileUploadHandler):
    active = False

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: Any, boundary: Any, encoding: Any = None
    ) -> None:
        request = self.request
        self.active = request is not None and request.path.startswith(UPLOAD_PATHS)
        self.limit = storage.max_bytes()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if self.active and start + len(raw_data) > self.limit:
            setattr(self.request, TOO_LARGE, True)
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
