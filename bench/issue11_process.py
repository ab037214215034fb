"""Issue 11 item 4: time the process-intelligence pages for the rep, the manager and the admin
against a benchmark database (``BENCH_DATABASE_URL``, a copy migrated with the process
migrations; never the shared generator output itself).

    BENCH_DATABASE_URL=sqlite:////work/bench/process.sqlite3 PYTHONPATH=$PWD \
        .venv/bin/python bench/issue11_process.py [--requests 10] [--rebuild]

For each persona and page it reports: cold (every request recomputes: snapshots deleted
first) and warm (from the snapshot) p50/p95 in ms and the query count of one request. With
``--rebuild`` (or empty fact tables) it first times the full fact rebuild and then one
incremental refresh.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import plain_static_files, read_meta, redacted, setup_django

PERSONAS = {"rep": "rep", "manager": "manager", "admin": "admin"}
PAGES = {
    "process": "/process/",
    "process by rep": "/process/?by=rep",
    "control": "/process/control/",
    "api summary": "/api/v1/process/summary",
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (k - lo) * (ordered[hi] - ordered[lo])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    url = setup_django()

    plain_static_files()
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    meta = read_meta()
    if meta is None:
        print(f"No benchmark data in {redacted(url)}", file=sys.stderr)
        return 1
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from salesflow.process.facts import refresh_facts
    from salesflow.process.models import ProcessSnapshot, StageVisit
    from salesflow.users.models import User
    from salesflow.users.services import api_token_create

    print(f"Database: {redacted(url)}; scale {meta['scale']}")
    if args.rebuild or not StageVisit.objects.exists():
        t = time.perf_counter()
        counts = refresh_facts(full=True)
        print(f"full rebuild: {time.perf_counter() - t:.1f} s {counts}")
        t = time.perf_counter()
        counts = refresh_facts()
        print(f"incremental refresh (nothing new): {time.perf_counter() - t:.1f} s {counts}")
    users = {p: User.objects.get(username=meta["users"][name]) for p, name in PERSONAS.items()}
    print(
        f"{'persona':8} {'page':16} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9} "
        f"{'queries':>8} status"
    )
    # the API authenticates by bearer token, not by the session (as bench/run.py does)
    tokens = {p: api_token_create(user=u, name="bench issue11_process")[1] for p, u in users.items()}
    for persona, user in users.items():
        page_client = Client(headers={"accept-language": "zh-hans"}, raise_request_exception=False)
        page_client.force_login(user)
        api_client = Client(
            headers={"accept-language": "zh-hans", "authorization": f"Bearer {tokens[persona]}"},
            raise_request_exception=False,
        )
        for name, path in PAGES.items():
            client = api_client if path.startswith("/api/") else page_client
            cold: list[float] = []
            warm: list[float] = []
            statuses: set[int] = set()
            for _ in range(args.requests):
                ProcessSnapshot.objects.all().delete()
                t = time.perf_counter()
                r = client.get(path)
                cold.append((time.perf_counter() - t) * 1000)
                statuses.add(r.status_code)
            for _ in range(args.requests):
                t = time.perf_counter()
                r = client.get(path)
                warm.append((time.perf_counter() - t) * 1000)
                statuses.add(r.status_code)
            ProcessSnapshot.objects.all().delete()
            with CaptureQueriesContext(connection) as q:
                client.get(path)
            print(
                f"{persona:8} {name:16} {pct(cold, 50):9.0f} {pct(cold, 95):9.0f} {pct(warm, 50):9.0f} "
                f"{pct(warm, 95):9.0f} {len(q.captured_queries):8d} {sorted(statuses)}"
            )
    _ = statistics  # the percentiles above are numpy-linear, written out
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
