#!/usr/bin/env python
"""CPU cost of "where is each rep stuck" (page and API) per part and per cell.

    .venv/bin/python bench/stuck_profile.py --database sqlite:///$PWD/var/bench01.sqlite3
        [--persona admin] [--requests 10] [--rows 206] [--profile 25]

On a benchmark database (``bench/generate.py``), logged in as a persona of ``bench_meta``
through Django's test ``Client`` (full middleware, as ``bench/run.py``), in ``zh-hans``:

1. the page and the API as they are: CPU ms per request (p50 / min) and query counts;
2. ``stuck_matrix`` alone (the selector: queries and the Python pass);
3. the larger case: the matrix's rows repeated (fresh owner ids) up to ``--rows`` rows —
   206 is the administrator's matrix at scale 1.0 (206 reps × 6 open stages = 1,236 cells) —
   handed to the page and the API instead of the real one. The CPU difference between the
   repeated and the real matrix, over the added cells, is the rendering (or serialisation)
   cost per cell; × 1,236 is what it costs at scale 1.0.
4. ``--profile N``: cProfile of one page request of the larger case, top N functions by
   internal time.

CPU time is this process's (SQLite's engine included, PostgreSQL's server not): the figure
that other load on a shared machine barely moves.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import plain_static_files, read_meta, setup_django

SCALE1_ADMIN_ROWS = 206


def cpu_ms(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.process_time()
        fn()
        out.append((time.process_time() - started) * 1000)
    return out


def summary(times: list[float]) -> str:
    return f"p50 {statistics.median(times):7.1f}  min {min(times):7.1f} ms CPU"


def repeated(matrix: Any, rows: int) -> Any:
    """A copy of ``matrix`` whose rows repeat until there are ``rows`` of them, each copy with
    its own owner id (the cells keep their figures)."""
    if not matrix.rows or len(matrix.rows) >= rows:
        return matrix
    out = copy.copy(matrix)
    out.rows = []
    top = max(r.owner.pk for r in matrix.rows)
    i = 0
    while len(out.rows) < rows:
        source = matrix.rows[i % len(matrix.rows)]
        row = copy.copy(source)
        if i >= len(matrix.rows):
            row.owner = copy.copy(source.owner)
            row.owner.pk = top + i
        out.rows.append(row)
        i += 1
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="", help="benchmark database URL (default: BENCH_DATABASE_URL)")
    parser.add_argument("--persona", default="admin", choices=["rep", "manager", "admin"])
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--rows", type=int, default=SCALE1_ADMIN_ROWS, help="rows of the larger case (206)")
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions of one larger-case page")
    args = parser.parse_args()
    if args.database:
        os.environ["BENCH_DATABASE_URL"] = args.database
    setup_django()

    plain_static_files()
    meta = read_meta()
    if meta is None:
        print("No benchmark data; run bench/generate.py first.", file=sys.stderr)
        return 1
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from salesflow.core.runtime import settle_heap
    from salesflow.sales import selectors
    from salesflow.sales.services import default_pipeline
    from salesflow.users.models import User
    from salesflow.users.services import api_token_create

    user = User.objects.get(username=meta["users"][args.persona])
    token = api_token_create(user=user, name="stuck profile")[1]
    page = Client(headers={"accept-language": "zh-hans"})
    page.force_login(user)
    api = Client(headers={"accept-language": "zh-hans", "authorization": f"Bearer {token}"})
    settle_heap()

    def get_page() -> None:
        assert page.get("/opportunities/stuck/").status_code == 200

    def get_api() -> None:
        assert api.get("/api/v1/opportunities/stuck").status_code == 200

    n = args.requests
    print(f"{connection.vendor}, scale {meta['scale']}, {args.persona} `{user.username}`, {n} requests each")
    for name, fn in (("page", get_page), ("API", get_api)):
        fn()
        with CaptureQueriesContext(connection) as ctx:
            fn()
        queries = len(ctx.captured_queries)  # before the next request resets the log
        print(f"  {name:<34} {summary(cpu_ms(fn, n))}  ({queries} queries)")
    pipeline = default_pipeline()
    real = selectors.stuck_matrix(user, pipeline=pipeline)
    cells = len(real.rows) * len(real.stages)
    alone = cpu_ms(lambda: selectors.stuck_matrix(user, pipeline=pipeline), n)
    print(f"  stuck_matrix() alone              {summary(alone)}")
    print(f"  real matrix: {len(real.rows)} rows × {len(real.stages)} stages = {cells} cells")

    # the larger case: the same matrix object, real or repeated, served to both endpoints
    big = repeated(real, args.rows)
    big_cells = len(big.rows) * len(big.stages)
    served = {"matrix": real}

    def fixed(*_a: Any, **_k: Any) -> Any:
        return served["matrix"]

    with (
        mock.patch("salesflow.sales.views.stuck_matrix", fixed),
        mock.patch("salesflow.sales.api.stuck_matrix", fixed),
    ):
        for name, fn in (("page", get_page), ("API", get_api)):
            served["matrix"] = real
            fn()
            small_t = statistics.median(cpu_ms(fn, n))
            served["matrix"] = big
            fn()
            big_t = statistics.median(cpu_ms(fn, n))
            added = big_cells - cells
            per_cell = (big_t - small_t) / added * 1000 if added else float("nan")
            print(
                f"  {name} without the selector: {cells} cells {small_t:6.1f} ms, {big_cells} cells {big_t:6.1f} ms"
                f" → {per_cell:5.1f} µs per cell, × {SCALE1_ADMIN_ROWS * len(real.stages)} cells ="
                f" {per_cell * SCALE1_ADMIN_ROWS * len(real.stages) / 1000:6.1f} ms"
            )
        if args.profile:
            served["matrix"] = big
            profiler = cProfile.Profile()
            profiler.enable()
            get_page()
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
