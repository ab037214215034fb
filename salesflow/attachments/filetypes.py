"""What a file really is, decided by its content, never by its name.

Pure inspection of a stored file (no database): :func:`inspect_file` returns the detected
type or raises :class:`FileRefused` with a message for people. Allowed: PDF, PNG, JPEG, GIF,
WebP (decoded with Pillow, with a pixel limit against decompression bombs), Office OOXML
documents (docx, xlsx, pptx: a zip whose ``[Content_Types].xml`` names the right main part,
without macros, checked against zip bombs by the declared sizes) and plain text / CSV (valid
UTF-8 or GB18030 without NUL or other control bytes, not HTML). The name's extension must
match the content (``evil.pdf`` holding an executable or HTML is refused).
"""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import filetype
from django.utils.translation import gettext as _
from PIL import Image

HEADER_BYTES = 8192
# Zip-bomb limits on what the zip's central directory declares.
ZIP_MAX_MEMBERS = 10_000
ZIP_MAX_UNCOMPRESSED = 300 * 1024 * 1024
ZIP_MAX_RATIO = 200
CONTENT_TYPES_MAX = 1024 * 1024


class FileRefused(Exception):
    """The file may not be attached; ``str(exc)`` says why, for people."""


@dataclass(frozen=True)
class Detected:
    mime_type: str
    extensions: frozenset[str]

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")


PDF = Detected("application/pdf", frozenset({"pdf"}))
PNG = Detected("image/png", frozenset({"png"}))
JPEG = Detected("image/jpeg", frozenset({"jpg", "jpeg", "jfif"}))
GIF = Detected("image/gif", frozenset({"gif"}))
WEBP = Detected("image/webp", frozenset({"webp"}))
DOCX = Detected("application/vnd.openxmlformats-officedocument.wordprocessingml.document", frozenset({"docx"}))
XLSX = Detected("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", frozenset({"xlsx"}))
PPTX = Detected("application/vnd.openxmlformats-officedocument.presentationml.presentation", frozenset({"pptx"}))
TEXT = Detected("text/plain", frozenset({"txt"}))
CSV = Detected("text/csv", frozenset({"csv"}))

_BY_MIME = {d.mime_type: d for d in (PDF, PNG, JPEG, GIF, WEBP)}
_PILLOW_FORMAT = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
_OOXML_MAIN = {
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
}
ALLOWED_EXTENSIONS: tuple[str, ...] = tuple(
    sorted({ext for d in (PDF, PNG, JPEG, GIF, WEBP, DOCX, XLSX, PPTX, TEXT, CSV) for ext in d.extensions})
)
# Executable and script headers refused outright, whatever the name says.
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
_MARKUP_STARTS = ("<!doctype", "<html", "<head", "<body", "<svg", "<?xml", "<script", "<iframe", "<meta", "<!--")
_TEXT_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 12, 13))


def extension_of(file_name: str) -> str:
    """The lower-case extension of ``file_name`` without the dot ('' when there is none)."""
    stem, dot, ext = file_name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _not_allowed() -> FileRefused:
    return FileRefused(
        _("This type of file is not allowed. Allowed: %(types)s.") % {"types": ", ".join(ALLOWED_EXTENSIONS)}
    )


def inspect_file(path: Path, file_name: str, *, max_pixels: int) -> Detected:
    """The type of the file at ``path`` (named ``file_name`` by the user), checked by content."""
    ext = extension_of(file_name)
    if ext not in ALLOWED_EXTENSIONS:
        raise _not_allowed()
    with path.open("rb") as fh:
        header = fh.read(HEADER_BYTES)
    if not header:
        raise FileRefused(_("The file is empty."))
    if header.startswith(_EXECUTABLE_MAGIC) or header.startswith(b"#!"):
        raise FileRefused(_("Programs and scripts cannot be attached."))
    detected: Detected | None
    if header.startswith(b"PK\x03\x04"):
        detected = _ooxml(path)
    else:
        guess = filetype.guess(header)
        detected = _BY_MIME.get(guess.mime) if guess is not None else None
        if guess is not None and detected is None:
            raise _not_allowed()
        if detected is None:
            detected = _text(path, ext)
    if ext not in detected.extensions:
        raise FileRefused(
            _("The file's content (%(type)s) does not match its name (.%(ext)s).")
            % {"type": detected.mime_type, "ext": ext}
        )
    if detected.is_image:
        _check_image(path, _PILLOW_FORMAT[detected.mime_type], max_pixels=max_pixels)
    return detected


def _ooxml(path: Path) -> Detected:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > ZIP_MAX_MEMBERS:
                raise FileRefused(_("The document holds too many parts."))
            total = 0
            for member in members:
                total += member.file_size
                ratio = member.file_size / max(member.compress_size, 1)
                if total > ZIP_MAX_UNCOMPRESSED or (member.file_size > 1024 * 1024 and ratio > ZIP_MAX_RATIO):
                    raise FileRefused(_("The document expands to too much data."))
            names = {m.filename for m in members}
            if "[Content_Types].xml" not in names:
                raise _not_allowed()
            if any(name.lower().endswith("vbaproject.bin") for name in names):
                raise FileRefused(_("Documents with macros cannot be attached."))
            with archive.open("[Content_Types].xml") as fh:
                content_types = fh.read(CONTENT_TYPES_MAX + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise FileRefused(_("The document is damaged.")) from None
    if len(content_types) > CONTENT_TYPES_MAX:
        raise FileRefused(_("The document is damaged."))
    if b"macroEnabled" in content_types:
        raise FileRefused(_("Documents with macros cannot be attached."))
    for main, detected in _OOXML_MAIN.items():
        if main in content_types:
            return detected
    raise _not_allowed()


def _text(path: Path, ext: str) -> Detected:
    data = path.read_bytes()
    if any(c in data for c in _TEXT_CONTROL) or b"\x7f" in data:
        raise _not_allowed()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise FileRefused(_("The text is neither UTF-8 nor GB18030.")) from None
    start = text[:4096].lstrip().lower()
    if start.startswith(_MARKUP_STARTS) or "<script" in start:
        raise FileRefused(_("Web pages and SVG images cannot be attached."))
    return CSV if ext == "csv" else TEXT


def _check_image(path: Path, pillow_format: str, *, max_pixels: int) -> None:
    """Decode the whole image: a damaged or oversized one is refused."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=[pillow_format]) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise FileRefused(_("The image has too many pixels."))
                img.verify()
            with Image.open(path, formats=[pillow_format]) as img:
                img.load()
    except FileRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FileRefused(_("The image has too many pixels.")) from None
    except Exception:  # Pillow raises many kinds (OSError, SyntaxError, ValueError…) for bad data
        raise FileRefused(_("The image is damaged.")) from None
