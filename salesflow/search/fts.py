"""The full-text side of the index per database vendor (created by migration ``0001``).

SQLite: ``search_entry_fts``, an external-content FTS5 table (``trigram`` tokenizer) over
``search_searchentry.text``, kept by three triggers. PostgreSQL: the GIN index
``search_entry_text_trgm`` (``gin_trgm_ops``). A full rebuild drops the triggers or the
index, writes the rows, and rebuilds the full-text side in one pass (several times faster
than row by row); on SQLite inside the same transaction, so a failure changes nothing.
"""

from __future__ import annotations

from django.db import connection

SQLITE_TRIGGERS = [
    "CREATE TRIGGER search_entry_ai AFTER INSERT ON search_searchentry BEGIN "
    "INSERT INTO search_entry_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER search_entry_ad AFTER DELETE ON search_searchentry BEGIN "
    "INSERT INTO search_entry_fts(search_entry_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER search_entry_au AFTER UPDATE ON search_searchentry BEGIN "
    "INSERT INTO search_entry_fts(search_entry_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO search_entry_fts(rowid, text) VALUES (new.id, new.text); END",
]
SQLITE_DROP_TRIGGERS = [
    "DROP TRIGGER IF EXISTS search_entry_au",
    "DROP TRIGGER IF EXISTS search_entry_ad",
    "DROP TRIGGER IF EXISTS search_entry_ai",
]
PG_INDEX = "CREATE INDEX IF NOT EXISTS search_entry_text_trgm ON search_searchentry USING gin (text gin_trgm_ops)"


def begin_bulk_rebuild() -> None:
    """Empty the index and suspend row-by-row full-text upkeep (inside a transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for sql in SQLITE_DROP_TRIGGERS:
                cursor.execute(sql)
            cursor.execute("DELETE FROM search_searchentry")
            cursor.execute("INSERT INTO search_entry_fts(search_entry_fts) VALUES ('delete-all')")
        else:
            cursor.execute("DROP INDEX IF EXISTS search_entry_text_trgm")
            cursor.execute("DELETE FROM search_searchentry")


def end_bulk_rebuild() -> None:
    """Build the full-text side from the rows in one pass and resume the upkeep."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("INSERT INTO search_entry_fts(search_entry_fts) VALUES ('rebuild')")
            for sql in SQLITE_TRIGGERS:
                cursor.execute(sql)
        else:
            cursor.execute(PG_INDEX)
