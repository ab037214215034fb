#!/usr/bin/env python
"""Time the global search selector per term class and persona, with the SQL's own time.

    .venv/bin/python bench/search_terms.py [--database URL] [--personas rep,manager]
                                           [--limit 21] [--repeat 3] [--explain] [--terms 王,公司]

For each persona and term (one-character surnames and letters, common bigrams, a name, a
mobile fragment, an email fragment; taken from the data like ``bench/run.py``), calls
``search.selectors.search(user, term, limit=…)`` ``--repeat`` times and prints the best
wall and CPU ms, the number of queries, the SQL time and the hits per kind. With
``--explain``, the slowest statement of the last call with ``EXPLAIN (ANALYZE, BUFFERS)``
(PostgreSQL) or ``EXPLAIN QUERY PLAN`` (SQLite). For issue 6 (global search at scale 1.0).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import read_meta, setup_django


def default_terms() -> list[tuple[str, str]]:
    from salesflow.leads.models import Lead
    from salesflow.parties.models import Account, Contact

    contact = Contact.objects.exclude(mobile="").exclude(email="").order_by("pk")[100:101].get()
    lead = Lead.objects.order_by("pk")[500:501].get()
    firsts = [
        Lead.objects.order_by("pk")[500:501].get().name,
        Contact.objects.order_by("pk")[300:301].get().name,
        Account.objects.order_by("pk")[200:201].get().name,
    ]
    m = contact.mobile
    terms = [("one character", name.strip()[:1]) for name in dict.fromkeys(firsts)]
    terms += [("one character", "王"), ("one character", "李"), ("one letter", "a")]
    terms += [("common", "公司"), ("common", "有限公司"), ("bigram", "华达")]
    terms += [("name", lead.name), ("mobile", f"{m[:3]} {m[3:7]} {m[7:]}"), ("email", contact.email.split("@")[0][:6])]
    return terms


def explained(connection: Any, statements: list[str]) -> tuple[float, int]:
    """Execution ms and shared buffers (hit + read) of ``statements`` under EXPLAIN ANALYZE."""
    import json

    total_ms, buffers = 0.0, 0
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            raw = cursor.fetchone()[0]
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
            total_ms += float(plan["Execution Time"])
            top = plan["Plan"]
            buffers += int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))
    return total_ms, buffers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="")
    parser.add_argument("--personas", default="rep,manager")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--terms", default="", help="comma-separated terms instead of the default set")
    parser.add_argument(
        "--plans",
        action="store_true",
        help="PostgreSQL: re-run every statement of the last call under EXPLAIN (ANALYZE, BUFFERS) and add"
        " up execution ms and buffers (less sensitive to a loaded machine than wall time)",
    )
    args = parser.parse_args()
    if args.database:
        os.environ["BENCH_DATABASE_URL"] = args.database
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from salesflow.search.selectors import search
    from salesflow.users.models import User

    meta = read_meta()
    if meta is None:
        print("No benchmark data.", file=sys.stderr)
        return 1
    terms = [("given", t) for t in args.terms.split(",") if t] or default_terms()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}, limit {args.limit}")
    extra = " EXPLAIN ms | buffers |" if args.plans else ""
    print(f"| persona | class | term | wall ms | CPU ms | queries | SQL ms |{extra} hits per kind |")
    print("|---|---|---|--:|--:|--:|--:|" + ("--:|--:|" if args.plans else "") + "---|")
    for persona in args.personas.split(","):
        user = User.objects.get(username=meta["users"][persona])
        for cls, term in terms:
            best_wall = best_cpu = float("inf")
            for _ in range(args.repeat):
                user = User.objects.get(pk=user.pk)  # the scope is cached per request
                with CaptureQueriesContext(connection) as captured:
                    w0, c0 = time.perf_counter(), time.process_time()
                    groups = search(user, term, limit=args.limit)
                    w1, c1 = time.perf_counter(), time.process_time()
                best_wall, best_cpu = min(best_wall, (w1 - w0) * 1000), min(best_cpu, (c1 - c0) * 1000)
            sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
            hits = " ".join(f"{g.kind[:4]}:{len(g.hits)}{'+' if g.more else ''}" for g in groups)
            measured = ""
            if args.plans:
                exec_ms, buffers = explained(connection, [q["sql"] for q in captured.captured_queries])
                measured = f" {exec_ms:.1f} | {buffers} |"
            print(
                f"| {persona} | {cls} | {term} | {best_wall:.0f} | {best_cpu:.0f} | "
                f"{len(captured.captured_queries)} | {sql_ms:.0f} |{measured} {hits} |",
                flush=True,
            )
            if args.explain:
                slow = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:1]
                for query in slow:
                    with connection.cursor() as cursor:
                        if connection.vendor == "postgresql":
                            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                        else:
                            cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
                        plan = "\n".join("    " + " | ".join(str(c) for c in row) for row in cursor.fetchall())
                    print(f"\n  slowest ({float(query['time']) * 1000:.1f} ms): {query['sql'][:200]}\n{plan}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
