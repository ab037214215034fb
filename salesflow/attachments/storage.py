"""Where attachment files live: ``SALESFLOW_ATTACHMENTS_DIR`` (default ``<data dir>/attachments``),
outside the static and media roots, under ``yyyy/mm/<random name>``. Paths stored in the
database are relative to that root; nothing here ever uses a name a user chose."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from django.conf import settings

CHUNK = 64 * 1024


def root() -> Path:
    configured = getattr(settings, "SALESFLOW_ATTACHMENTS_DIR", None)
    return Path(configured or Path(settings.DATA_DIR) / "attachments").resolve()


def max_bytes() -> int:
    return int(getattr(settings, "SALESFLOW_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024))


def max_pixels() -> int:
    return int(getattr(settings, "SALESFLOW_ATTACHMENT_MAX_PIXELS", 40_000_000))


def new_relative_path(now: datetime) -> str:
    """A fresh random name under the month's folder."""
    return f"{now:%Y}/{now:%m}/{secrets.token_hex(16)}"


def absolute(relative: str) -> Path:
    """The file of a stored relative path; refuses anything that would leave the root."""
    base = root()
    path = (base / relative).resolve()
    if not relative or base not in path.parents:
        raise FileNotFoundError(relative)
    return path


def write(chunks: Iterable[bytes], relative: str, *, limit: int) -> tuple[int, str]:
    """Write ``chunks`` to a new file (never overwriting); return (size, sha256 hex).

    Raises ``OverflowError`` (after removing the partial file) when more than ``limit``
    bytes arrive."""
    path = absolute(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise OverflowError(size)
                digest.update(chunk)
                fh.write(chunk)
    except BaseException:
        remove(relative)
        raise
    return size, digest.hexdigest()


def remove(*relatives: str) -> None:
    """Delete stored files; missing ones are fine (idempotent)."""
    for relative in relatives:
        if not relative:
            continue
        try:
            absolute(relative).unlink(missing_ok=True)
        except (FileNotFoundError, OSError):
            continue
