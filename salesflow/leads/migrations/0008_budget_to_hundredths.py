"""Data migration: store lead budgets as exact integer hundredths before the column becomes a
``MoneyField`` (``BIGINT``) in the next migration.

SQLite kept the old ``DECIMAL`` column as a floating-point number, so each value is read
raw and recovered from its shortest ``repr`` (exact for every value of at most 15
significant digits, i.e. every value the application can store from now on), rounded
half-up to cents and written back as an integer number of hundredths; the column type
change that follows then copies integers exactly on both databases. Values that no query
could read before (non-finite, or above 999,999,999,999.99 — the new maximum) become
empty (the budget is optional).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import migrations

MAX_AMOUNT = Decimal("999999999999.99")


def _hundredths(raw: Any) -> int | None:
    try:
        number = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
    except (InvalidOperation, TypeError, ValueError):
        return None
    if not number.is_finite() or abs(number) > MAX_AMOUNT:
        return None
    return int(number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).scaleb(2))


def _rewrite(schema_editor: Any, table: str, column: str, convert: Any) -> None:
    """Rewrite ``column`` row by row with ``convert``, in batches of ids (flat memory)."""
    connection = schema_editor.connection
    qt, qc = connection.ops.quote_name(table), connection.ops.quote_name(column)
    select = f"SELECT id, {qc} FROM {qt} WHERE {qc} IS NOT NULL AND id > %s ORDER BY id LIMIT 5000"  # noqa: S608
    update = f"UPDATE {qt} SET {qc} = %s WHERE id = %s"  # noqa: S608 (names are quoted, values are parameters)
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(select, [last])
            rows = cursor.fetchall()
            if not rows:
                break
            cursor.executemany(update, [(convert(value), pk) for pk, value in rows])
            last = rows[-1][0]


def forwards(apps: Any, schema_editor: Any) -> None:
    model = apps.get_model("leads", "Lead")
    _rewrite(schema_editor, model._meta.db_table, "budget_amount", _hundredths)


def backwards(apps: Any, schema_editor: Any) -> None:
    model = apps.get_model("leads", "Lead")
    _rewrite(schema_editor, model._meta.db_table, "budget_amount", lambda raw: Decimal(int(raw)).scaleb(-2))


class Migration(migrations.Migration):
    dependencies = [("leads", "0007_backfill_company_key")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
