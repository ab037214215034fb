"""The title order of the global search: ``(kind, title_key, object_id)`` in code-point order.

The global search reads a common term's first page (and a short term's prefix range) by
walking this index in order and stopping at the page's limit (``search.selectors``). On
PostgreSQL the key is ``COLLATE "C"``: the existing ``varchar_pattern_ops`` index serves
``LIKE 'x%'`` but no ``ORDER BY``, and a locale's order would make the prefix range
depend on it. SQLite compares in code-point order (``BINARY``) already. Created per
vendor (like the full-text side of ``0001``), so the model state carries no collation.
"""

from django.db import migrations

SQLITE = "CREATE INDEX IF NOT EXISTS search_entry_order_idx ON search_searchentry (kind, title_key, object_id)"
POSTGRESQL = (
    'CREATE INDEX IF NOT EXISTS search_entry_order_idx ON search_searchentry (kind, title_key COLLATE "C", object_id)'
)
DROP = "DROP INDEX IF EXISTS search_entry_order_idx"


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute(SQLITE)
            # statistics for the new index: without them SQLite takes ``kind = ?`` on it for
            # selective and walks a whole kind where a rare term's few matches would do
            cursor.execute("ANALYZE search_searchentry")
        elif vendor == "postgresql":
            cursor.execute(POSTGRESQL)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor in ("sqlite", "postgresql"):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_search_index")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
