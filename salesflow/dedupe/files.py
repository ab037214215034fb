"""Reading a CSV or XLSX list of records for the duplicate check (``salesflow duplicates``).

The file is checked by content before it is parsed (:func:`salesflow.attachments.filetypes.
inspect_file`: the extension must match the content, XLSX zip bombs and macros are refused)
and by size (:data:`MAX_FILE_BYTES`, :data:`MAX_ROWS`). CSV is read as UTF-8 (with or
without BOM) or, failing that, GBK/GB18030; XLSX with openpyxl in read-only mode (first sheet).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from salesflow.attachments.filetypes import CSV, XLSX, FileRefused, inspect_file

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 200


class FileUnreadable(Exception):
    """The file cannot be checked; ``str(exc)`` says why, for people."""


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]


def read_table(path: Path) -> Table:
    """Headers and data rows (as text) of the CSV or XLSX file at ``path``.

    Raises :class:`FileUnreadable` for a missing, oversized, empty or refused file.
    """
    try:
        size = path.stat().st_size
    except OSError:
        raise FileUnreadable(_("The file cannot be read.")) from None
    if size > MAX_FILE_BYTES:
        raise FileUnreadable(_("The file is larger than %(mb)d MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)})
    try:
        detected = inspect_file(path, path.name, max_pixels=1)
    except FileRefused as exc:
        raise FileUnreadable(str(exc)) from None
    if detected == XLSX:
        raw = _read_xlsx(path)
    elif detected == CSV:
        raw = _read_csv(path.read_bytes())
    else:
        raise FileUnreadable(_("Only CSV and XLSX files can be checked."))
    raw = [row for row in raw if any(cell.strip() for cell in row)]
    if not raw:
        raise FileUnreadable(_("The file has no header row."))
    if len(raw) - 1 > MAX_ROWS:
        raise FileUnreadable(_("The file has more than %(rows)d rows.") % {"rows": MAX_ROWS})
    headers = [h.strip() for h in raw[0][:MAX_COLUMNS]]
    return Table(headers=headers, rows=[row[:MAX_COLUMNS] for row in raw[1:]])


def _read_csv(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileUnreadable(_("The text is neither UTF-8 nor GBK."))
    try:
        return [[cell.replace("\x00", "") for cell in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise FileUnreadable(_("The CSV file is malformed: %(error)s") % {"error": exc}) from None


def _read_xlsx(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for damaged files
        raise FileUnreadable(_("The spreadsheet is damaged.")) from None
    try:
        sheet = workbook.worksheets[0]
        rows: list[list[str]] = []
        for values in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            rows.append(["" if v is None else str(v) for v in values])
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        workbook.close()


def mapped_rows(table: Table, mapping: Mapping[str, str]) -> list[dict[str, str]]:
    """The rows as ``field → value`` dicts through ``mapping`` (header → field)."""
    columns: Sequence[tuple[int, str]] = [
        (i, mapping[header]) for i, header in enumerate(table.headers) if mapping.get(header)
    ]
    return [{field: (row[i] if i < len(row) else "") for i, field in columns} for row in table.rows]
