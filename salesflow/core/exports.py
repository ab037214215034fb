"""Lists that can be exported and saved as views: the registry, the query-string check and the
CSV/XLSX writers (with formula-injection neutralisation).

Each business app registers its lists in ``AppConfig.ready()``::

    register_list(ListSpec(key="opportunities", label=_("Opportunities"), url_name="opportunities:list",
                           params=frozenset({"q", "stage", …}), build=opportunity_export_rows,
                           columns=OPPORTUNITY_COLUMNS))

``build(user, params)`` must return exactly the rows the list page shows for the same query
string (the app's own filter form and selector, so the visibility policy applies), ordered
like the page, with the relations the columns read already joined (no per-row query).
The kernel knows no business entity: it only calls the registered functions.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Model, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from salesflow.core.errors import ValidationFailed

#: Exports of at most this many rows are written during the request; bigger ones in the background.
EXPORT_SYNC_LIMIT = 2000
#: The longest query string a saved view or an export may store.
QUERY_MAX_LENGTH = 1000
#: Parameters every list accepts besides its filters.
COMMON_PARAMS = frozenset({"sort"})
#: Days an exported file can be downloaded before the cleanup job deletes it.
EXPORT_KEEP_DAYS = 3

# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice, Sheets.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One exported column: ``get(row)`` returns a str, int, Decimal, date, datetime or None."""

    key: str
    label: str | Promise
    get: Callable[[Any], Any]
    #: For a choice field: ``get`` returns the stored value, shown by its label (looked up once
    #: per export, not per row: ``get_FOO_display`` with lazy labels costs a millisecond a row).
    choices: Sequence[tuple[Any, Any]] | None = None


@dataclass(frozen=True)
class ListSpec:
    key: str
    label: str | Promise
    url_name: str
    params: frozenset[str]
    build: Callable[[Any, QueryDict], QuerySet[Any]]
    columns: Sequence[Column]
    #: Optional sums of the filtered rows for the list's total (``{"totals": …}`` for the template).
    summary: Callable[[QuerySet[Any]], dict[str, Any]] | None = None
    #: Optional narrowing of the rows for the export (``only()`` the exported columns).
    narrow: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None

    @property
    def allowed_params(self) -> frozenset[str]:
        return self.params | COMMON_PARAMS


_LISTS: dict[str, ListSpec] = {}


def register_list(spec: ListSpec) -> None:
    _LISTS[spec.key] = spec


def list_spec(key: str) -> ListSpec | None:
    return _LISTS.get(key)


def list_specs() -> list[ListSpec]:
    return list(_LISTS.values())


def list_choices() -> list[tuple[str, str]]:
    return [(spec.key, str(spec.label)) for spec in _LISTS.values()]


# --------------------------------------------------------------------------- query strings


def clean_query(spec: ListSpec, query: str, *, field: str = "query") -> str:
    """The list's query string, checked and normalised: only the list's own parameters
    (``page`` and empty values dropped), at most :data:`QUERY_MAX_LENGTH` characters, no
    control characters. Raises ``ValidationFailed`` naming ``field``."""
    query = (query or "").strip().lstrip("?")
    if len(query) > QUERY_MAX_LENGTH:
        raise ValidationFailed(
            _("The input is not valid."),
            field_errors={field: [_("At most %(n)d characters.") % {"n": QUERY_MAX_LENGTH}]},
        )
    params = QueryDict(query)
    kept = QueryDict(mutable=True)
    for name, values in params.lists():
        if name == "page":
            continue
        if name not in spec.allowed_params:
            raise ValidationFailed(
                _("The input is not valid."),
                field_errors={field: [_("“%(name)s” is not a filter of this list.") % {"name": name[:50]}]},
            )
        for value in values:
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in value) or "\x00" in value:
                raise ValidationFailed(
                    _("The input is not valid."), field_errors={field: [_("Control characters are not allowed.")]}
                )
            if value != "":
                kept.appendlist(name, value)
    return kept.urlencode()


def query_dict(query: str) -> QueryDict:
    return QueryDict(query or "")


# ------------------------------------------------------------------------------ cells


def neutralise(value: str) -> str:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def cell_value(value: Any) -> Any:
    """A value as written into a cell: numbers and dates stay typed, text is neutralised."""
    if value is None:
        return None
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, int | Decimal | float):
        return value
    if isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return local.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return value
    return neutralise(str(value))


def _labelled(get: Callable[[Any], Any], labels: dict[Any, str]) -> Callable[[Any], Any]:
    def label(obj: Any) -> Any:
        value = get(obj)
        return labels.get(value, value)

    return label


def rows_of(spec: ListSpec, qs: QuerySet[Any], *, chunk_size: int = 1000) -> Iterator[list[Any]]:
    """Cells of every row of ``qs`` (streamed in chunks)."""
    getters: list[Callable[[Any], Any]] = []
    for column in spec.columns:
        if column.choices is None:
            getters.append(column.get)
        else:
            getters.append(_labelled(column.get, {value: str(label) for value, label in column.choices}))
    for obj in qs.iterator(chunk_size=chunk_size):
        yield [cell_value(get(obj)) for get in getters]


def headers_of(spec: ListSpec) -> list[str]:
    return [str(column.label) for column in spec.columns]


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(
    path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, progress: Callable[[int], None] | None = None
) -> int:
    """UTF-8 with a byte-order mark (so Excel reads Chinese), CRLF lines; returns the row count."""
    n = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([neutralise(h) for h in headers])
        for row in rows:
            writer.writerow([_csv_text(v) for v in row])
            n += 1
            if progress is not None and n % 500 == 0:
                progress(n)
    return n


def write_xlsx(
    path: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str = "Export",
    progress: Callable[[int], None] | None = None,
) -> int:
    """An XLSX workbook written in openpyxl's write-only mode (constant memory); returns the row count.

    Text cells are written as strings (never parsed as formulas), dates with a date format."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    # a sheet title may not hold / \ [ ] : * ? (openpyxl refuses them)
    sheet = workbook.create_sheet(title=re.sub(r"[\[\]:*?/\\]", "-", title)[:31] or "Export")
    sheet.append([neutralise(h) for h in headers])
    n = 0
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=datetime(value.year, value.month, value.day))
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # a string, even when it looks like a formula
            else:
                cell = WriteOnlyCell(sheet, value=value)
            cells.append(cell)
        sheet.append(cells)
        n += 1
        if progress is not None and n % 500 == 0:
            progress(n)
    workbook.save(path)
    return n


def write_export(
    spec: ListSpec, qs: QuerySet[Any], fmt: str, path: Path, *, progress: Callable[[int], None] | None = None
) -> int:
    rows = rows_of(spec, spec.narrow(qs) if spec.narrow is not None else qs)
    if fmt == "xlsx":
        return write_xlsx(path, headers_of(spec), rows, title=str(spec.label), progress=progress)
    return write_csv(path, headers_of(spec), rows, progress=progress)


def export_dir() -> Path:
    """Exported files live under the data directory (never under static or media)."""
    directory = Path(settings.DATA_DIR) / "exports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def model_label(obj: Model | None) -> str:
    return "" if obj is None else str(obj)


#: Totals above this are shown as "10,000+": a capped count reads at most this many rows.
COUNT_CAP = 10_000


#: A count that takes longer than this is abandoned ("many results"): the page never waits for
#: it (it is loaded afterwards) and a worker thread is not held by a scan of millions of rows.
COUNT_TIME_LIMIT_MS = 500


class CountTooSlow(Exception):
    """The count was abandoned after ``COUNT_TIME_LIMIT_MS``."""


def capped_count(qs: QuerySet[Any], cap: int | None = None, *, time_limit_ms: int | None = None) -> tuple[int, bool]:
    """``(number of rows of qs, whether it is more than cap)``: ``COUNT(*)`` over at most
    ``cap + 1`` rows of the same filter (ordering dropped), abandoned after ``time_limit_ms``
    (raises :class:`CountTooSlow`; PostgreSQL ``statement_timeout``, SQLite progress handler)."""
    import time

    from django.db import DatabaseError, connection, transaction

    cap = COUNT_CAP if cap is None else cap
    limit = COUNT_TIME_LIMIT_MS if time_limit_ms is None else time_limit_ms
    counted = qs.order_by()[: cap + 1]
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL statement_timeout = %s", [max(1, int(limit))])
                n = counted.count()
            elif connection.vendor == "sqlite":
                connection.ensure_connection()
                raw = connection.connection
                deadline = time.monotonic() + limit / 1000
                raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
                try:
                    n = counted.count()
                finally:
                    raw.set_progress_handler(None, 0)
            else:  # pragma: no cover - the two supported databases are above
                n = counted.count()
    except DatabaseError as exc:
        raise CountTooSlow from exc
    return (cap, True) if n > cap else (n, False)
