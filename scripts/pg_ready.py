"""Exit 0 when the PostgreSQL server of a ``DATABASE_URL`` accepts connections, else 1.

    python scripts/pg_ready.py postgres://postgres@127.0.0.1:5432/salesflow

Connects to the server's ``postgres`` maintenance database (the test run creates its own
``test_…`` database), so the database named in the URL need not exist.
"""

from __future__ import annotations

import sys

import dj_database_url
import psycopg


def main(url: str) -> int:
    config = dj_database_url.parse(url)
    try:
        with psycopg.connect(
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        ) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        print(f"PostgreSQL at {config.get('HOST')}:{config.get('PORT')} is not reachable: {exc}".strip())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
