"""CSV/XLSX export of exactly a chart's table (``core.exports`` writers: formula-safe)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from salesflow.core.exports import cell_value, write_csv, write_xlsx


def typed(value: Any, kind: str) -> Any:
    """A table cell back to its type (snapshots keep numbers and dates as strings)."""
    if value is None or value == "":
        return None
    try:
        if kind in ("money", "percent", "days"):
            return Decimal(str(value))
        if kind == "int":
            return int(value)
        if kind == "date":
            return date.fromisoformat(str(value))
    except (ValueError, InvalidOperation):
        pass
    if kind == "text" and isinstance(value, str):
        try:  # a "value" column holds numbers too
            return Decimal(value) if value.replace(".", "", 1).lstrip("-").isdigit() else value
        except InvalidOperation:
            return value
    return value


def table_rows(data: dict[str, Any]) -> list[list[Any]]:
    kinds = [c["kind"] for c in data["columns"]]
    return [[cell_value(typed(v, k)) for v, k in zip(row, kinds, strict=False)] for row in data["rows"]]


def export_chart(data: dict[str, Any], fmt: str, path: Path) -> int:
    headers = [str(c["label"]) for c in data["columns"]]
    rows = table_rows(data)
    if fmt == "xlsx":
        return write_xlsx(path, headers, rows, title=str(data["title"]))
    return write_csv(path, headers, rows)
