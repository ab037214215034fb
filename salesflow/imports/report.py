"""The error report of an import (错误报告): an XLSX file listing every rejected row with
its row number, the column and the reason, followed by the row's original cells so it can
be corrected and imported again.

Cells are written as text; a value starting with ``=``, ``+``, ``-``, ``@`` (or a tab or
carriage return) is prefixed with an apostrophe so a spreadsheet never runs it as a formula.
"""

from __future__ import annotations

import io

from django.utils.translation import gettext as _

from salesflow.imports.files import job_table
from salesflow.imports.models import ImportJob
from salesflow.imports.selectors import rejected_rows

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """``value`` as text that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def error_report(job: ImportJob) -> bytes:
    """The XLSX bytes of ``job``'s error report (one line per problem of a rejected row)."""
    from openpyxl import Workbook

    rows = list(rejected_rows(job))
    cells_by_row: dict[int, list[str]] = {}
    headers: list[str] = list(job.headers)
    if rows:
        try:
            table = job_table(job)
            cells_by_row = {number: cells for number, cells in table.rows}
        except Exception:  # the file is gone or unreadable: report without the original cells
            cells_by_row = {}
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Errors")[:31])
    sheet.append([_("Row"), _("Column"), _("Reason"), *[safe_cell(h) for h in headers]])
    for row in rows:
        original = [safe_cell(c) for c in cells_by_row.get(row.row_number, [])]
        for column, reason in row.errors or [["", ""]]:
            sheet.append([row.row_number, safe_cell(column), safe_cell(reason), *original])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
