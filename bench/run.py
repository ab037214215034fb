#!/usr/bin/env python
"""Measure server time and query counts of the main pages on the benchmark database.

    .venv/bin/python bench/run.py [--requests 30] [--warmup 3] [--only board]

Every scenario runs through Django's test ``Client`` (the full middleware stack, no
network) logged in as a rep and as a manager: a few warm-up requests, then ``--requests``
timed requests (wall time around the client call = server time) and one more request
under ``CaptureQueriesContext`` for the query count. Detail pages rotate over records
the user can see. Results go to stdout and ``bench/results/latest.md``.
"""

from __future__ import annotations

import argparse
import logging
import math
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import ROOT, read_meta, redacted, setup_django

RESULTS = ROOT / "bench" / "results"
# Performance budget (ARCHITECTURE.md): p95 server time per kind of page, in ms.
BUDGET_MS = {"detail": 100, "list": 200}


@dataclass
class Scenario:
    name: str
    kind: str  # detail | list
    path: Callable[[Context, int], str]
    htmx: bool = False
    api: bool = False  # bearer token instead of a session


@dataclass
class Context:
    """Ids the scenarios need, per user (detail pages only use records the user sees)."""

    stage_id: int
    lead_query: str
    account_ids: list[int]
    opportunity_ids: list[int]
    lead_ids: list[int]


@dataclass
class Result:
    scenario: str
    kind: str
    user: str
    times_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    queries: int | None = None
    size: int = 0
    placeholder: bool = False
    error: str = ""

    def pct(self, q: float) -> float:
        ordered = sorted(self.times_ms)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")

    @property
    def ok(self) -> bool:
        return set(self.statuses) == {200} and not self.placeholder

    @property
    def budget(self) -> str:
        limit = BUDGET_MS[self.kind]
        if not self.ok:
            return "n/a"
        return f"ok (< {limit})" if self.pct(0.95) < limit else f"**over** (< {limit})"


def rotate(ids: list[int], i: int) -> int:
    return ids[i % len(ids)]


SCENARIOS = [
    Scenario("My day", "list", lambda c, i: "/"),
    Scenario("Opportunity board", "list", lambda c, i: "/opportunities/board/"),
    Scenario(
        "Opportunity list: stage filter, sort -amount",
        "list",
        lambda c, i: f"/opportunities/?stage={c.stage_id}&sort=-amount",
    ),
    Scenario("Opportunity list page 5", "list", lambda c, i: "/opportunities/?page=5"),
    Scenario("Lead list", "list", lambda c, i: "/leads/"),
    Scenario("Lead list: search", "list", lambda c, i: f"/leads/?q={c.lead_query}"),
    Scenario("Account list", "list", lambda c, i: "/accounts/"),
    Scenario("Activity list", "list", lambda c, i: "/activities/"),
    Scenario("Account detail", "detail", lambda c, i: f"/accounts/{rotate(c.account_ids, i)}/"),
    Scenario(
        "Activity panel of an account (htmx)",
        "detail",
        lambda c, i: f"/activities/panel/?account={rotate(c.account_ids, i)}",
        htmx=True,
    ),
    Scenario("Opportunity detail", "detail", lambda c, i: f"/opportunities/{rotate(c.opportunity_ids, i)}/"),
    Scenario("Lead detail", "detail", lambda c, i: f"/leads/{rotate(c.lead_ids, i)}/"),
    Scenario("API: opportunities ?limit=50", "list", lambda c, i: "/api/v1/opportunities?limit=50", api=True),
    Scenario("API: leads ?limit=50", "list", lambda c, i: "/api/v1/leads?limit=50", api=True),
    Scenario(
        "API: one opportunity", "detail", lambda c, i: f"/api/v1/opportunities/{rotate(c.opportunity_ids, i)}", api=True
    ),
]


def spread(ids: list[int], n: int) -> list[int]:
    """``n`` ids spread evenly over the (sorted) list."""
    if len(ids) <= n:
        return ids
    step = len(ids) / n
    return [ids[int(k * step)] for k in range(n)]


def context_for(user: Any, n: int) -> Context:
    from salesflow.leads.permissions import leads_visible_to
    from salesflow.parties.permissions import accounts_visible_to
    from salesflow.sales.models import Stage
    from salesflow.sales.permissions import opportunities_visible_to
    from salesflow.sales.services import default_pipeline

    stage = Stage.objects.get(pipeline=default_pipeline(), code="needs")
    return Context(
        stage_id=stage.pk,
        lead_query="华达",
        account_ids=spread(list(accounts_visible_to(user).order_by("pk").values_list("pk", flat=True)), n),
        opportunity_ids=spread(list(opportunities_visible_to(user).order_by("pk").values_list("pk", flat=True)), n),
        lead_ids=spread(list(leads_visible_to(user).order_by("pk").values_list("pk", flat=True)), n),
    )


def measure(scenario: Scenario, user: Any, token: str, ctx: Context, requests: int, warmup: int) -> Result:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    headers = {"accept-language": "zh-hans"}
    if scenario.api:
        headers["authorization"] = f"Bearer {token}"
    if scenario.htmx:
        headers["hx-request"] = "true"
    client = Client(headers=headers, raise_request_exception=False)
    if not scenario.api:
        client.force_login(user)
    result = Result(scenario.name, scenario.kind, user.username)

    def get(i: int, *, count: bool = True) -> Any:
        response = client.get(scenario.path(ctx, i))
        if count:
            result.statuses[response.status_code] += 1
        exc_info = getattr(response, "exc_info", None)  # set by the client when the view raised
        if response.status_code >= 500 and not result.error and exc_info:
            exc = exc_info[1]
            result.error = f"{type(exc).__name__}: {str(exc)[:160]}"
        return response

    for i in range(warmup):
        get(i)
    result.statuses.clear()
    for i in range(requests):
        started = time.perf_counter()
        response = get(warmup + i)
        result.times_ms.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = get(warmup + requests, count=False)
    result.queries = len(queries.captured_queries)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    result.size = len(content)
    result.placeholder = content.strip() == b"todo"
    return result


def render(results: list[Result], header: dict[str, str], requests: int) -> str:
    lines = ["# Salesflow benchmark", ""]
    lines += [f"- **{key}**: {value}" for key, value in header.items()]
    lines += [
        "",
        f"Server time per request in ms over {requests} requests (after warm-up), measured around Django's "
        "test client; queries = SQL statements for one request. Budget = p95 target from ARCHITECTURE.md.",
        "",
        "| Scenario | User | Status | p50 ms | p95 ms | max ms | Queries | KB | Budget |",
        "|---|---|---|--:|--:|--:|--:|--:|---|",
    ]
    for r in results:
        status = ", ".join(f"{code}×{n}" for code, n in sorted(r.statuses.items()))
        if r.placeholder:
            status += " (placeholder)"
        lines.append(
            f"| {r.scenario} | {r.user} | {status} | {statistics.median(r.times_ms):.1f} | {r.pct(0.95):.1f} | "
            f"{max(r.times_ms):.1f} | {r.queries} | {r.size / 1024:.0f} | {r.budget} |"
        )
    errors = [r for r in results if r.error]
    if errors:
        lines += ["", "Errors:", ""]
        lines += [f"- {r.scenario} ({r.user}): `{r.error}`" for r in errors]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per scenario and user (30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first (3)")
    parser.add_argument("--only", default="", help="run only scenarios whose name contains this text")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.md")
    args = parser.parse_args()

    url = setup_django()
    from django.conf import settings

    # Templates resolve {% static %} through the manifest of `collectstatic`, which a
    # checkout may not have run; plain static URLs cost the same.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # A failing page is reported in the table; its traceback would only drown the output.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    meta = read_meta()
    if meta is None:
        print(f"No benchmark data in {redacted(url)}; run bench/generate.py first.", file=sys.stderr)
        return 1

    import django
    from django.db import connection

    from salesflow.users.models import User
    from salesflow.users.services import api_token_create

    users = [User.objects.get(username=meta["users"][role]) for role in ("rep", "manager")]
    contexts = {u.pk: context_for(u, max(args.requests + args.warmup + 1, 10)) for u in users}
    tokens = {u.pk: api_token_create(user=u, name=f"bench {datetime.now():%Y-%m-%d %H:%M}")[1] for u in users}
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if connection.vendor == "sqlite" else "SHOW server_version")
        db_version = cursor.fetchone()[0]
    counts = meta["counts"]
    header = {
        "Date": f"{datetime.now():%Y-%m-%d %H:%M}",
        "Database": f"{connection.vendor} {db_version} ({redacted(url)})",
        "Data": f"scale {meta['scale']}: "
        + ", ".join(f"{n:,} {name.replace('_', ' ')}" for name, n in counts.items())
        + f"; generated {meta['generated_at'][:16]}",
        "Users": f"rep `{users[0].username}` (own records), manager `{users[1].username}` (department)",
        "Machine": f"{platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}, "
        f"Django {django.__version__}",
    }
    print(f"Benchmarking {redacted(url)} (scale {meta['scale']}), {args.requests} requests per scenario …")
    results = []
    for scenario in SCENARIOS:
        if args.only and args.only.lower() not in scenario.name.lower():
            continue
        for user in users:
            result = measure(scenario, user, tokens[user.pk], contexts[user.pk], args.requests, args.warmup)
            results.append(result)
            print(
                f"  {scenario.name:<46} {user.username:<8} p50 {statistics.median(result.times_ms):7.1f} ms  "
                f"p95 {result.pct(0.95):7.1f} ms  {result.queries:>3} queries  {dict(result.statuses)}",
                flush=True,
            )
    report = render(results, header, args.requests)
    if not args.only or "export" in args.only.lower():
        report += export_section(users)  # issue 6: export of 10,000 rows
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print()
    print(report)
    print(f"Written to {args.output}")
    return 0


# ------------------------------------------------------------------ export of 10,000 rows (issue 6)

EXPORT_ROWS = 10_000
#: Budget of writing an export of 10,000 rows (a background task; the user sees progress).
EXPORT_BUDGET_MS = 10_000


def export_section(users: list[Any]) -> str:
    """Time writing the first 10,000 deals each user may see to XLSX and CSV: the list's own
    row builder (visibility, filter form, selector), streamed in chunks, written to a temporary
    file — what the background export task does."""
    import tempfile

    from django.http import QueryDict

    from salesflow.core.exports import list_spec, write_export

    spec = list_spec("opportunities")
    assert spec is not None
    lines = [
        "",
        f"## Export of {EXPORT_ROWS:,} rows (opportunities, budget {EXPORT_BUDGET_MS / 1000:.0f} s)",
        "",
        "| Format | User | Rows | ms | Budget |",
        "|---|---|--:|--:|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("xlsx", "csv"):
            for user in users:
                qs = spec.build(user, QueryDict(""))[:EXPORT_ROWS]
                started = time.perf_counter()
                rows = write_export(spec, qs, fmt, Path(tmp) / f"export.{fmt}")
                ms = (time.perf_counter() - started) * 1000
                ok = "ok" if ms <= EXPORT_BUDGET_MS else "**over**"
                lines.append(f"| {fmt} | {user.username} | {rows:,} | {ms:.0f} | {ok} |")
                print(f"  export {fmt:<4} {user.username:<8} {rows:>6} rows {ms:8.0f} ms", flush=True)
    return "\n".join(lines) + "\n"


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


if __name__ == "__main__":
    sys.exit(main())
