"""Shared set-up for the benchmark scripts: which database, Django start-up, the marker table.

The benchmark never touches the development database: it uses ``BENCH_DATABASE_URL`` when
set (e.g. ``postgres://postgres@127.0.0.1:5432/salesflow_bench``), else
``var/bench.sqlite3``. ``DATABASE_URL`` is set from it before Django reads its settings.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = ROOT / "var" / "bench.sqlite3"
# Bump when the generator's output changes so stale databases are rebuilt.
GENERATOR_VERSION = 1
META_TABLE = "bench_meta"


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE}"


def setup_django() -> str:
    """Point Django at the benchmark database and start it; returns the URL in use."""
    url = database_url()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesflow.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return url


def plain_static_files() -> None:
    """Serve static files without the manifest (``collectstatic`` never ran on a bench
    checkout, so the production storage would refuse every ``{% static %}``); call after
    :func:`setup_django`, before the first request."""
    from django.conf import settings

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def redacted(url: str) -> str:
    """The URL without a password, for printing."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


def read_meta() -> dict[str, Any] | None:
    """What ``generate.py`` recorded about the data, or ``None`` when there is none."""
    from django.db import connection

    if META_TABLE not in connection.introspection.table_names():
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT value FROM {META_TABLE} WHERE name = %s", ["meta"])
        row = cursor.fetchone()
    return json.loads(row[0]) if row else None


def write_meta(meta: dict[str, Any]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (name varchar(50) PRIMARY KEY, value text NOT NULL)")
        cursor.execute(f"DELETE FROM {META_TABLE} WHERE name = %s", ["meta"])
        cursor.execute(f"INSERT INTO {META_TABLE} (name, value) VALUES (%s, %s)", ["meta", json.dumps(meta)])


def _field_default(field: Any) -> Any:
    """The value a raw INSERT writes for a column the row leaves out: the field's Python
    default, or its database default (``db_default=""``) when it has only that."""
    from django.db.models import NOT_PROVIDED, Value

    value = field.get_default()
    db_default = getattr(field, "db_default", NOT_PROVIDED)
    if db_default is not NOT_PROVIDED and (value is None or type(value).__name__ == "DatabaseDefault"):
        return db_default.value if isinstance(db_default, Value) else db_default
    return value


class Table:
    """Fast inserts of plain rows into one model's table (``executemany`` of one INSERT).

    ``bulk_create`` spends most of its time preparing each field of each model instance
    (about 3,000 rows/s here); building tuples and adapting only dates, decimals and JSON
    is an order of magnitude faster and writes the same rows (amounts go through
    ``MoneyField`` to integer hundredths). Every concrete column is
    written: values not given take the field's default (``""``, ``False``, ``None``, …).
    Ids are assigned here (the table is expected to be filled only by this loader); call
    :func:`reset_sequences` afterwards so PostgreSQL continues after them.
    """

    def __init__(self, model: Any) -> None:
        from datetime import UTC

        from django.db import connection, models

        from salesflow.core.money import MoneyField

        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.index = {f.attname: i for i, f in enumerate(self.fields)}
        from django.utils import timezone

        now = timezone.now()
        self.defaults: list[Any] = [
            None if f.primary_key else (now if getattr(f, "auto_now", False) else _field_default(f))
            for f in self.fields
        ]
        self.pk_index = next(i for i, f in enumerate(self.fields) if f.primary_key)
        ops = connection.ops
        sqlite = connection.vendor == "sqlite"

        def sqlite_datetime(value: Any) -> Any:
            if value is None:
                return None
            if value.tzinfo is UTC:
                return str(value.replace(tzinfo=None))
            return ops.adapt_datetimefield_value(value)

        self.adapters: list[tuple[int, Any]] = []
        for i, f in enumerate(self.fields):
            if isinstance(f, models.DateTimeField):
                self.adapters.append((i, sqlite_datetime if sqlite else ops.adapt_datetimefield_value))
            elif isinstance(f, models.DateField):
                self.adapters.append((i, ops.adapt_datefield_value))
            elif isinstance(f, MoneyField):  # amounts are stored as integer hundredths
                self.adapters.append((i, lambda v, f=f: f.get_db_prep_save(v, connection)))
            elif isinstance(f, models.DecimalField) and sqlite:
                self.adapters.append((i, lambda v: None if v is None else str(v)))
            elif isinstance(f, models.JSONField):
                self.adapters.append((i, lambda v, f=f: f.get_db_prep_save(v, connection)))
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        self.sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"
        self.copy_sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX({quote('id')}) FROM {quote(model._meta.db_table)}")
            self.next_id = (cursor.fetchone()[0] or 0) + 1
        self.rows: list[list[Any]] = []
        self.written = 0

    def add(self, **values: Any) -> int:
        """Queue one row; returns its id."""
        row = self.defaults.copy()
        pk = self.next_id
        self.next_id += 1
        row[self.pk_index] = pk
        index = self.index
        for name, value in values.items():
            row[index[name]] = value
        self.rows.append(row)
        return pk

    def flush(self) -> None:
        from django.db import connection

        if not self.rows:
            return
        for row in self.rows:
            for i, adapt in self.adapters:
                row[i] = adapt(row[i])
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # COPY is PostgreSQL's bulk path, several times faster than INSERTs.
                with cursor.cursor.copy(self.copy_sql) as copy:
                    for row in self.rows:
                        copy.write_row(row)
            else:
                cursor.executemany(self.sql, self.rows)
        self.written += len(self.rows)
        self.rows = []


def reset_sequences(models: list[Any]) -> None:
    """Let PostgreSQL's id sequences continue after explicitly inserted ids (SQLite needs nothing)."""
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sequence_reset_sql(no_style(), models)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def drop_secondary_indexes(models: list[Any]) -> list[str]:
    """Drop the indexes of ``models``' tables that do not back a primary key or constraint
    and return the statements that recreate them.

    Loading into a table without its secondary indexes and building them afterwards (one
    sort each) is several times faster than maintaining ten B-trees row by row.
    """
    from django.db import connection

    statements: list[str] = []
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            if connection.vendor == "sqlite":
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                    [table],
                )
            else:
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND tablename = %s AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                    [table],
                )
            for name, sql in cursor.fetchall():
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                statements.append(sql)
    return statements


def create_indexes(statements: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
