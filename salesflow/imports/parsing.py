"""Reading an uploaded spreadsheet safely: checks before parsing, then a plain table.

Guarantees:

- :func:`check_file` runs before any parsing: the size limit (``SALESFLOW_IMPORT_MAX_BYTES``,
  default 20 MB), the extension (``csv`` or ``xlsx``), NUL and control bytes in a CSV, and
  the content checks of :mod:`salesflow.attachments.filetypes` (the content must match the
  extension; XLSX zip bombs are refused by the sizes their central directory declares, and
  macros are refused). It raises :class:`FileRefused` with a message for people.
- :func:`read_table` returns the header row and the data rows as text (CSV in UTF-8, UTF-8
  with BOM, or GBK/GB18030; XLSX: the first sheet, dates as ISO dates, numbers as their
  exact decimal text). Row numbers are the spreadsheet's (the header is row 1); blank rows
  are left out but keep their numbers. More than ``MAX_ROWS`` rows or ``MAX_COLUMNS``
  columns, a cell longer than ``MAX_CELL_CHARS`` or holding control characters, and
  duplicate or missing headers raise :class:`FileRefused` naming the row and column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from salesflow.attachments.filetypes import FileRefused, extension_of, inspect_file

MAX_ROWS = 200_000
MAX_COLUMNS = 100
MAX_CELL_CHARS = 10_000
EXTENSIONS = ("csv", "xlsx")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

__all__ = ["FileRefused", "Table", "check_file", "max_bytes", "read_table"]


def max_bytes() -> int:
    """The largest file accepted for import, in bytes (``SALESFLOW_IMPORT_MAX_BYTES``, else
    the attachment limit, which the upload handler enforces while the file arrives)."""
    from salesflow.attachments import storage

    return int(getattr(settings, "SALESFLOW_IMPORT_MAX_BYTES", 0) or storage.max_bytes())


@dataclass
class Table:
    """A file's header names and its non-blank data rows as ``(row number, cells)``."""

    headers: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def check_file(path: Path, file_name: str) -> str:
    """Refuse a file that may not be parsed; return its extension (``csv`` / ``xlsx``)."""
    ext = extension_of(file_name)
    if ext not in EXTENSIONS:
        raise FileRefused(_("Upload a CSV or XLSX file."))
    size = path.stat().st_size
    if size > max_bytes():
        raise FileRefused(_("The file is larger than %(size)d MB.") % {"size": max(1, max_bytes() // (1024 * 1024))})
    if size == 0:
        raise FileRefused(_("The file is empty."))
    if ext == "csv":
        data = path.read_bytes()
        if b"\x00" in data or _CONTROL.search(data.decode("latin-1")):
            raise FileRefused(_("The file contains NUL or other control characters; it is not a CSV text file."))
    inspect_file(path, file_name, max_pixels=1)
    return ext


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return format(Decimal(repr(value)), "f")
    return str(value)


def _check_row(number: int, cells: list[str], headers: list[str]) -> list[str]:
    out: list[str] = []
    for index, cell in enumerate(cells):
        column = headers[index] if index < len(headers) else str(index + 1)
        if len(cell) > MAX_CELL_CHARS:
            raise FileRefused(
                _("Row %(row)d, column “%(column)s”: a cell may hold at most %(max)d characters.")
                % {"row": number, "column": column[:50], "max": MAX_CELL_CHARS}
            )
        if _CONTROL.search(cell):
            raise FileRefused(
                _("Row %(row)d, column “%(column)s”: the cell contains control characters.")
                % {"row": number, "column": column[:50]}
            )
        out.append(cell.strip())
    return out


def _headers(cells: list[str]) -> list[str]:
    headers = [c.strip() for c in cells]
    while headers and not headers[-1]:
        headers.pop()
    if not any(headers):
        raise FileRefused(_("The first row must name the columns."))
    if len(headers) > MAX_COLUMNS:
        raise FileRefused(_("The file has more than %(max)d columns.") % {"max": MAX_COLUMNS})
    seen: set[str] = set()
    for index, header in enumerate(headers):
        if not header:
            raise FileRefused(_("Column %(n)d has no name in the first row.") % {"n": index + 1})
        if header in seen:
            raise FileRefused(_("Two columns are named “%(column)s”.") % {"column": header[:50]})
        if len(header) > 200:
            raise FileRefused(_("Column %(n)d's name is too long.") % {"n": index + 1})
        seen.add(header)
    return headers


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise FileRefused(_("The text is neither UTF-8 nor GBK.")) from None


def read_table(path: Path, ext: str) -> Table:
    """The table held in the (already checked) file at ``path``."""
    if ext == "csv":
        text = _decode(path.read_bytes())
        first = text.split("\n", 1)[0]
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
        try:
            raw: list[list[str]] = []
            for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
                raw.append(record)
                if len(raw) > MAX_ROWS + 1:
                    break
        except csv.Error as exc:
            raise FileRefused(_("The CSV file could not be read: %(error)s") % {"error": str(exc)[:200]}) from None
        iterator: list[list[object]] = [list(r) for r in raw]
    else:
        iterator = _xlsx_rows(path)
    if not iterator:
        raise FileRefused(_("The file is empty."))
    headers = _headers([_text(c) for c in iterator[0]])
    table = Table(headers=headers)
    for number, cells in enumerate(iterator[1:], start=2):
        texts = [_text(c) for c in cells]
        if not any(t.strip() for t in texts):
            continue
        if len(table.rows) >= MAX_ROWS:
            raise FileRefused(_("The file has more than %(max)d rows.") % {"max": MAX_ROWS})
        extra = texts[len(headers) :]
        if any(t.strip() for t in extra):
            raise FileRefused(_("Row %(row)d has more cells than there are columns.") % {"row": number})
        texts = (texts + [""] * len(headers))[: len(headers)]
        table.rows.append((number, _check_row(number, texts, headers)))
    return table


def _xlsx_rows(path: Path) -> list[list[object]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for damaged files
        raise FileRefused(_("The XLSX file is damaged.")) from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            return []
        rows: list[list[object]] = []
        for values in sheet.iter_rows(values_only=True):
            rows.append(list(values[: MAX_COLUMNS + 1]))
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    except Exception:
        raise FileRefused(_("The XLSX file is damaged.")) from None
    finally:
        workbook.close()
