"""Issue 11 forecast pages at bench scale: p50/p95 and query count of my forecast, the roll-up,
accuracy and the waterfall (page and API) for the bench rep, department manager and
administrator; ``cpu p50`` is this process's CPU time per request (steadier than the wall
time on a loaded machine; PostgreSQL's own CPU is not in it).

    PYTHONPATH=$PWD BENCH_DATABASE_URL=sqlite:///$PWD/var/bench.sqlite3 \
        .venv/bin/python bench/issue11_forecasts.py [--requests 20]

It first writes (once) a submission for every selling user for this month and the last three,
and an adjustment for every team, directly (bulk, like the generator), so the roll-up and the
accuracy read a realistic number of entries.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import plain_static_files, read_meta, redacted, setup_django


def seed() -> int:
    from datetime import datetime, time, timedelta
    from decimal import Decimal

    from django.utils import timezone

    from salesflow.core.periods import period_containing
    from salesflow.forecasts.models import ForecastEntry
    from salesflow.forecasts.selectors import SELLING_ROLES
    from salesflow.users.models import Team, User

    if ForecastEntry.objects.exists():
        return 0
    today = timezone.localdate()
    periods = [period_containing("month", today)]
    while len(periods) < 4:
        periods.insert(0, period_containing("month", periods[0].start - timedelta(days=1)))
    admin = User.objects.order_by("-is_superuser", "pk").first()
    assert admin is not None
    rows = []
    people = list(User.objects.filter(is_active=True, role__in=SELLING_ROLES).values_list("pk", flat=True))
    teams = list(Team.objects.values_list("pk", "manager_id"))
    for p in periods:
        at = min(timezone.make_aware(datetime.combine(p.start + timedelta(days=2), time.min)), timezone.now())
        for i, pk in enumerate(people):
            c = Decimal(100000 + (pk * 7919 + i) % 400000)
            rows.append(
                ForecastEntry(
                    node_key=f"rep:{pk}", period_key=p.key, period_end=p.end, kind="submission", revision=1,
                    commit=c, best_case=c * 2, pipeline=c * 3, currency="CNY", author_id=pk, created_at=at,
                )
            )  # fmt: skip
        for pk, manager in teams:
            c = Decimal(1000000)
            rows.append(
                ForecastEntry(
                    node_key=f"team:{pk}", period_key=p.key, period_end=p.end, kind="adjustment", revision=1,
                    commit=c, best_case=c * 2, pipeline=c * 3, currency="CNY", author_id=manager or admin.pk,
                    created_at=at,
                )
            )  # fmt: skip
    ForecastEntry.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    url = setup_django()
    from django.db import connection

    # plain static URLs: a checkout may not have run `collectstatic` (as bench/run.py does)
    plain_static_files()
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from salesflow.users.models import User

    meta = read_meta()
    if meta is None:
        print("no bench data: run bench/generate.py first")
        return 1
    print(f"database {redacted(url)}, scale {meta.get('scale')}; seeded {seed()} forecast entries")
    pages = [
        ("my forecast", "/forecasts/"),
        ("roll-up", "/forecasts/team/"),
        ("accuracy (6 months)", "/forecasts/accuracy/"),
        ("what changed (waterfall)", "/forecasts/changes/"),
        ("what changed (quarter)", "/forecasts/changes/?period=QUARTER"),
        ("API roll-up", "/api/v1/forecasts/rollup"),
        ("API changes", "/api/v1/forecasts/changes"),
    ]
    from django.utils import timezone

    from salesflow.core.periods import period_containing
    from salesflow.users.services import api_token_create

    quarter = period_containing("quarter", timezone.localdate()).key
    for persona in ("rep", "manager", "admin"):
        user = User.objects.get(username=meta["users"][persona])
        _t, raw = api_token_create(user=user, name="bench-forecasts")
        for name, path in pages:
            path = path.replace("QUARTER", quarter)
            headers = {"accept-language": "zh-hans"}
            if path.startswith("/api/"):
                headers["authorization"] = f"Bearer {raw}"
            client = Client(headers=headers, raise_request_exception=True)
            if not path.startswith("/api/"):
                client.force_login(user)
            for _i in range(args.warmup):
                client.get(path)
            times = []
            cpu = []  # this process's CPU time (Django and SQLite; not PostgreSQL's server)
            status = 0
            for _i in range(args.requests):
                started, started_cpu = time.perf_counter(), time.process_time()
                status = client.get(path).status_code
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            with CaptureQueriesContext(connection) as q:
                client.get(path)
            times.sort()
            p95 = times[max(0, round(0.95 * len(times)) - 1)]
            print(
                f"{persona:<8} {name:<28} {status} p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms"
                f"  queries {len(q.captured_queries)}  cpu p50 {statistics.median(cpu):7.1f} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
