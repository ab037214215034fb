#!/usr/bin/env python
"""Time the win/loss drivers (issue 11 item 6) on the benchmark database.

    BENCH_DATABASE_URL=sqlite:////work/bench/bench.sqlite3 \
        .venv/bin/python bench/issue11_winloss.py [--repeat 5] [--periods 2026-11,2026-Q3,2026]

Measures the COLD path (what a reader waits for when no snapshot exists): the deals query
(``selectors.load_deals``), the comparisons (``selectors.drivers_of``) and the model
(``model.fit_model``), for the administrator (company node), a department manager (their
department) and a rep (themself), and counts the queries. The warm path is one indexed
lookup of ``WinLossSnapshot`` by key. Read-only: nothing is written to the database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--periods", default="2026-11,2026-Q3,2026")
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from salesflow.analytics.forms import AnalysisFilterForm
    from salesflow.users.models import Team, User
    from salesflow.winloss.model import fit_model
    from salesflow.winloss.selectors import drivers_of, load_deals

    admin = User.objects.filter(role="admin").order_by("pk").first()
    manager = User.objects.filter(role="manager").order_by("pk").first()
    rep = User.objects.filter(role="rep").order_by("pk").first()
    assert admin and manager and rep
    team = Team.objects.filter(manager=manager).order_by("pk").first()
    cases = [("admin", admin, "company"), ("manager", manager, f"team:{team.pk}" if team else f"rep:{manager.pk}")]
    cases.append(("rep", rep, f"rep:{rep.pk}"))
    print(
        f"{'persona':8} {'period':8} {'deals':>7} {'queries':>7} {'load p95':>9} "
        f"{'drivers':>8} {'model':>8} {'total p95':>9}"
    )
    for period in args.periods.split(","):
        for persona, user, node in cases:
            form = AnalysisFilterForm({"period": period, "node": node}, user=user)
            assert form.is_valid(), form.errors
            a = form.analysis()
            loads, drivers, models, totals = [], [], [], []
            n = 0
            queries = 0
            for i in range(args.repeat):
                with CaptureQueriesContext(connection) as ctx:
                    t0 = time.perf_counter()
                    frame = load_deals(a)
                    t1 = time.perf_counter()
                    drivers_of(frame)
                    t2 = time.perf_counter()
                    fit_model(frame)
                    t3 = time.perf_counter()
                if i == 0:
                    queries = len(ctx.captured_queries)
                n = frame.n
                loads.append(t1 - t0)
                drivers.append(t2 - t1)
                models.append(t3 - t2)
                totals.append(t3 - t0)

            def p95(xs: list[float]) -> float:
                return sorted(xs)[max(0, round(0.95 * len(xs)) - 1)] * 1000

            print(
                f"{persona:8} {period:8} {n:7d} {queries:7d} {p95(loads):8.0f}ms "
                f"{statistics.median(drivers) * 1000:7.0f}ms {statistics.median(models) * 1000:7.0f}ms "
                f"{p95(totals):8.0f}ms"
            )


if __name__ == "__main__":
    main()
