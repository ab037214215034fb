#!/usr/bin/env python
"""Show the slowest SQL statements of one page, with their query plans.

    .venv/bin/python bench/explain.py [--database URL] [--persona rep] [--top 2] /accounts/?page=200

Requests the page once as the persona (warm-up), once more while capturing its queries,
then prints the ``--top`` slowest statements with ``EXPLAIN (ANALYZE, BUFFERS)`` on
PostgreSQL or ``EXPLAIN QUERY PLAN`` on SQLite. For finding which query of a page misses
the budget and why; not part of the measured run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import plain_static_files, read_meta, setup_django


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="page path, e.g. /accounts/?page=200 (/api/… uses a bearer token)")
    parser.add_argument("--persona", default="rep", choices=["rep", "manager", "admin"])
    parser.add_argument("--database", default="", help="benchmark database URL (default: BENCH_DATABASE_URL)")
    parser.add_argument("--top", type=int, default=2, help="how many of the slowest statements to explain")
    parser.add_argument("--sql", action="store_true", help="print the full SQL of each explained statement")
    args = parser.parse_args()
    if args.database:
        os.environ["BENCH_DATABASE_URL"] = args.database
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    plain_static_files()
    from salesflow.users.models import User
    from salesflow.users.services import api_token_create

    meta = read_meta()
    if meta is None:
        print("No benchmark data; run bench/generate.py first.", file=sys.stderr)
        return 1
    user = User.objects.get(username=meta["users"][args.persona])
    headers = {"accept-language": "zh-hans"}
    if args.path.startswith("/api/"):
        headers["authorization"] = f"Bearer {api_token_create(user=user, name='bench explain')[1]}"
    client = Client(headers=headers, raise_request_exception=True)
    if not args.path.startswith("/api/"):
        client.force_login(user)
    client.get(args.path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(args.path)
    queries = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))
    total = sum(float(q["time"]) for q in queries)
    print(f"{args.path} as {args.persona} ({user.username}): HTTP {response.status_code}, ")
    print(f"{len(queries)} queries, {total * 1000:.1f} ms in SQL")
    for query in queries[: args.top]:
        sql = query["sql"]
        print(f"\n--- {float(query['time']) * 1000:.1f} ms: {sql[:300]}{'…' if len(sql) > 300 else ''}")
        if args.sql:
            print(sql)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
            for row in cursor.fetchall():
                print("   ", " | ".join(str(c) for c in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
