"""Reading a known-customer list file (CSV or XLSX) into rows of named fields.

The file is checked before it is parsed: its size, its content against its extension and,
for XLSX, the zip-bomb limits (``attachments.filetypes.inspect_file``, the same checks as
attachments). Headers are recognised in Chinese and English (:data:`HEADER_ALIASES`);
unknown columns are ignored. Raises ``ValidationFailed`` naming the ``file`` field.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from salesflow.attachments.filetypes import FileRefused, extension_of, inspect_file
from salesflow.core.errors import ValidationFailed

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
LIST_FIELDS = ("company_name", "credit_code", "phone", "contact_name", "owner", "sales_office", "external_id")

# header (case-folded, spaces removed) → field
HEADER_ALIASES: dict[str, str] = {
    alias.casefold().replace(" ", "").replace("_", ""): field
    for field, aliases in {
        "company_name": (
            "客户名称",
            "公司名称",
            "企业名称",
            "客户",
            "单位名称",
            "Customer name",
            "Customer",
            "Company",
            "Company name",
            "Name",
        ),
        "credit_code": (
            "统一社会信用代码",
            "信用代码",
            "社会信用代码",
            "Credit code",
            "Unified social credit code",
            "USCC",
        ),
        "phone": ("电话", "联系电话", "手机", "Phone", "Telephone", "Mobile"),
        "contact_name": ("联系人", "Contact", "Contact name"),
        "owner": ("负责人", "客户负责人", "销售", "销售代表", "业务员", "Owner", "Sales rep", "Account owner"),
        "sales_office": ("销售处", "销售办事处", "办事处", "销售部门", "Sales office", "Office", "Branch"),
        "external_id": ("客户编号", "客户编码", "编号", "External id", "Customer id", "Customer number", "ID"),
    }.items()
    for alias in aliases
}


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(_("The file could not be read."), field_errors={"file": [message]})


def map_headers(headers: Iterable[object]) -> dict[int, str]:
    """Column index → field for the recognised headers (the first column wins a field)."""
    mapping: dict[int, str] = {}
    for index, header in enumerate(headers):
        key = str(header or "").strip().casefold().replace(" ", "").replace("_", "")
        field = HEADER_ALIASES.get(key)
        if field is not None and field not in mapping.values():
            mapping[index] = field
    return mapping


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows_from(table: Iterator[list[Any]] | Iterator[tuple[Any, ...]]) -> list[dict[str, str]]:
    try:
        headers = next(table)
    except StopIteration:
        raise _refuse(_("The file is empty.")) from None
    mapping = map_headers(headers)
    if "company_name" not in mapping.values():
        raise _refuse(_("No customer name column was found (客户名称 / Customer name)."))
    rows: list[dict[str, str]] = []
    for raw in table:
        if not any(_cell(v) for v in raw):
            continue
        if len(rows) >= MAX_ROWS:
            raise _refuse(_("The file has more than %(max)d rows.") % {"max": MAX_ROWS})
        rows.append({field: _cell(raw[i]) if i < len(raw) else "" for i, field in mapping.items()})
    return rows


def read_list_file(file_name: str, data: bytes) -> list[dict[str, str]]:
    """The rows of a CSV or XLSX known-customer list, as ``{field: text}`` dicts.

    Refused (``ValidationFailed`` on ``file``): more than :data:`MAX_FILE_BYTES`, another
    extension, content that does not match the extension, a zip bomb, no customer name
    column, more than :data:`MAX_ROWS` rows, text that is neither UTF-8 nor GB18030.
    """
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(_("The file is larger than %(mb)d MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)})
    ext = extension_of(file_name)
    if ext not in ("csv", "xlsx"):
        raise _refuse(_("Upload a CSV or XLSX file."))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"list.{ext}"
        path.write_bytes(data)
        try:
            inspect_file(path, file_name, max_pixels=1)
        except FileRefused as exc:
            raise _refuse(str(exc)) from None
        if ext == "csv":
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("gb18030")
            return _rows_from(iter(csv.reader(io.StringIO(text))))
        return _read_xlsx(path)


def _read_xlsx(path: Path) -> list[dict[str, str]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for damaged files
        raise _refuse(_("The document is damaged.")) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise _refuse(_("The file is empty."))
        return _rows_from(iter(list(row) for row in sheet.iter_rows(values_only=True)))
    finally:
        book.close()
