#!/usr/bin/env python
"""Measure server time and query counts of the main pages on the benchmark database.

    .venv/bin/python bench/run.py [--requests 30] [--warmup 3] [--only board]
                                  [--personas rep,manager,admin] [--database URL]

Every scenario runs through Django's test ``Client`` (the full middleware stack, no
network) logged in as each persona (a rep, a department manager and the administrator,
see ``PERSONAS``): a few warm-up requests, then ``--requests``
timed requests (wall time around the client call = server time) and one more request
under ``CaptureQueriesContext`` for the query count. Detail pages rotate over records
the user can see. Results go to stdout and ``bench/results/latest.md``: one row per
scenario and persona, then a summary with the p95 of every persona side by side.
The database is ``BENCH_DATABASE_URL`` (or ``--database``), else ``var/bench.sqlite3``.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
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

from bench.benchlib import ROOT, plain_static_files, read_meta, redacted, setup_django

RESULTS = ROOT / "bench" / "results"
# Performance budget (ARCHITECTURE.md): p95 server time per kind of page, in ms.
BUDGET_MS = {"detail": 100, "list": 200, "report": 1000}  # report: issue 9 ageing
#: PostgreSQL statement timeout of the measured requests (``--timeout``)
STATEMENT_TIMEOUT_S = 10.0
# Who is measured: persona → the ``bench_meta`` user of that role. A rep sees their own
# records, a department manager the department's (a fifth of the data at scale 1.0), the
# administrator everything.
PERSONAS = {"rep": "rep", "manager": "manager", "admin": "admin"}


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
    user: Any = None
    #: list path → the URL of its page 200 as the pager links it (``?page=200&after=<cursor>``)
    deep: dict[str, str] = field(default_factory=dict)

    def deep_url(self, path: str) -> str:
        if path not in self.deep:
            self.deep[path] = deep_page_url(self.user, path, DEEP_PAGE)
        return self.deep[path]


@dataclass
class Result:
    scenario: str
    kind: str
    user: str
    persona: str = ""
    times_ms: list[float] = field(default_factory=list)
    # CPU time of this process per request (Python, templates and — on SQLite — the database
    # engine, which runs in-process): a figure other load on a shared machine barely moves.
    # PostgreSQL's own work happens in its server process and is not in it.
    cpu_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    queries: int | None = None
    size: int = 0
    placeholder: bool = False
    error: str = ""

    def pct(self, q: float, *, cpu: bool = False) -> float:
        ordered = sorted(self.cpu_ms if cpu else self.times_ms)
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
    Scenario("Opportunity list (default)", "list", lambda c, i: "/opportunities/"),
    Scenario(
        "Opportunity list: stage filter, sort -amount",
        "list",
        lambda c, i: f"/opportunities/?stage={c.stage_id}&sort=-amount",
    ),
    Scenario("Opportunity list page 5", "list", lambda c, i: "/opportunities/?page=5"),
    Scenario("Opportunity list page 200", "list", lambda c, i: c.deep_url("/opportunities/")),
    Scenario("Opportunity list: sort stage", "list", lambda c, i: "/opportunities/?sort=stage"),
    Scenario("Opportunity list: sort -close", "list", lambda c, i: "/opportunities/?sort=-close"),
    Scenario("Opportunity list: open, sort -amount", "list", lambda c, i: "/opportunities/?outcome=open&sort=-amount"),
    Scenario("Lead list", "list", lambda c, i: "/leads/"),
    Scenario("Lead list: search", "list", lambda c, i: f"/leads/?q={c.lead_query}"),
    Scenario("Lead list page 200", "list", lambda c, i: c.deep_url("/leads/")),
    Scenario("Account list", "list", lambda c, i: "/accounts/"),
    Scenario("Account list page 200", "list", lambda c, i: c.deep_url("/accounts/")),
    Scenario("Contact list", "list", lambda c, i: "/contacts/"),
    Scenario("Activity list", "list", lambda c, i: "/activities/"),
    Scenario("Activity list page 200", "list", lambda c, i: c.deep_url("/activities/")),
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
    Scenario("API: accounts ?limit=50", "list", lambda c, i: "/api/v1/accounts?limit=50", api=True),
    Scenario("API: activities ?limit=50", "list", lambda c, i: "/api/v1/activities?limit=50", api=True),
    Scenario("API: contacts ?limit=50", "list", lambda c, i: "/api/v1/contacts?limit=50", api=True),
    Scenario(
        "API: one opportunity", "detail", lambda c, i: f"/api/v1/opportunities/{rotate(c.opportunity_ids, i)}", api=True
    ),
    # issue 7: stall detection ("sales.compute_stage_dwell_stats" must have run on the data)
    Scenario("Where is each rep stuck", "list", lambda c, i: "/opportunities/stuck/"),
    Scenario("API: where is each rep stuck", "list", lambda c, i: "/api/v1/opportunities/stuck", api=True),
    Scenario("Opportunity list: stalled", "list", lambda c, i: "/opportunities/?stalled=1"),
]


# --- global search (issue 6): terms a user types, taken from the data on first use --------------
_SEARCH_TERMS: list[str] = []


def search_term(i: int) -> str:
    """Rotates over a person's name, a two-character company fragment, a mobile number typed
    with spaces, part of an email, a one-character surname and a very common bigram (公司,
    in most company names: the term that must not scan its matches) (URL-encoded)."""
    from urllib.parse import quote

    if not _SEARCH_TERMS:
        from salesflow.leads.models import Lead
        from salesflow.parties.models import Contact

        contact = Contact.objects.exclude(mobile="").exclude(email="").order_by("pk")[100:101].get()
        lead = Lead.objects.order_by("pk")[500:501].get()
        m = contact.mobile
        _SEARCH_TERMS.extend(
            [lead.name, "华达", f"{m[:3]} {m[3:7]} {m[7:]}", contact.email.split("@")[0][:6], lead.name[:1], "公司"]
        )
    return quote(_SEARCH_TERMS[i % len(_SEARCH_TERMS)])


_ONE_CHARACTER: list[str] = []


def one_character_term(i: int) -> str:
    """Rotates over one-character terms: the first character of a lead's name (a surname), of
    a contact's name and of an account's name (URL-encoded). Each matches the titles starting
    with it: thousands of rows, of which a rep sees a few."""
    from urllib.parse import quote

    if not _ONE_CHARACTER:
        from salesflow.leads.models import Lead
        from salesflow.parties.models import Account, Contact

        names = [
            Lead.objects.order_by("pk")[500:501].get().name,
            Contact.objects.order_by("pk")[300:301].get().name,
            Account.objects.order_by("pk")[200:201].get().name,
        ]
        _ONE_CHARACTER.extend(dict.fromkeys(name.strip()[:1] for name in names if name.strip()))
    return quote(_ONE_CHARACTER[i % len(_ONE_CHARACTER)])


SCENARIOS += [
    Scenario("Global search page: one character", "list", lambda c, i: f"/search/?q={one_character_term(i)}"),
    Scenario(
        "API: global search, one character ?limit=5",
        "list",
        lambda c, i: f"/api/v1/search?q={one_character_term(i)}&limit=5",
        api=True,
    ),
    Scenario(
        "Global search page (name, company, mobile, email, surname, 公司)",
        "list",
        lambda c, i: f"/search/?q={search_term(i)}",
    ),
    Scenario(
        "API: global search ?limit=5", "list", lambda c, i: f"/api/v1/search?q={search_term(i)}&limit=5", api=True
    ),
]

# --- issue 9 (billing): the receivables ageing report (budget: p95 < 1 s) ---------------------
SCENARIOS += [
    Scenario("Receivables ageing by customer", "report", lambda c, i: "/billing/ageing/"),
    Scenario("Receivables ageing by rep", "report", lambda c, i: "/billing/ageing/?group=rep"),
    Scenario("Receivables ageing by team", "report", lambda c, i: "/billing/ageing/?group=team"),
    Scenario("API: receivables ageing", "report", lambda c, i: "/api/v1/billing/ageing", api=True),
    Scenario("Payment list", "list", lambda c, i: "/billing/payments/"),
]


# --- issue 10: dashboards and reports (budget: p95 < 1 s) --------------------------------------
DASHBOARD_CHARTS = ("attainment", "pipeline", "funnel", "won_lost", "win_rate", "velocity", "activity", "top_deals")


def past_month(i: int) -> str:
    """A different month per request, so each chart is computed live, never read from its snapshot."""
    from datetime import date

    today = date.today()
    index = today.year * 12 + today.month - 1 - (i % 24)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _live(prefix: str) -> Callable[[Context, int], str]:
    """A path computed for a different past month on every request (never a snapshot)."""
    return lambda c, i: f"{prefix}?period={past_month(i)}"


SCENARIOS += [
    Scenario("Dashboard (page shell)", "report", lambda c, i: "/dashboards/"),
    *[
        Scenario(f"Dashboard chart {chart}, live", "report", _live(f"/dashboards/chart/{chart}/"))
        for chart in DASHBOARD_CHARTS
    ],
    Scenario("Dashboard chart won_lost, from its snapshot", "report", lambda c, i: "/dashboards/chart/won_lost/"),
    Scenario("Records behind won deals", "list", lambda c, i: "/dashboards/records/?metric=won_deals"),
    Scenario("API: dashboard won_lost", "report", _live("/api/v1/dashboards/won_lost"), api=True),
    Scenario("Attainment", "report", lambda c, i: f"/plans/attainment/?period={past_month(i)[:4]}"),
    Scenario("Leaderboard", "report", lambda c, i: "/plans/leaderboard/"),
    Scenario("Team scorecard", "report", _live("/scorecards/")),
    Scenario("Funnel math", "report", lambda c, i: "/scorecards/funnel/"),
    *[
        Scenario(f"Report {name}", "report", _live(f"/reports/{name}/"))
        for name in ("sales", "won_lost", "velocity", "activities")
    ],
]


def spread(ids: list[int], n: int) -> list[int]:
    """``n`` ids spread evenly over the (sorted) list."""
    if len(ids) <= n:
        return ids
    step = len(ids) / n
    return [ids[int(k * step)] for k in range(n)]


def _first_ids(qs: Any, user: Any, limit: int = 5000) -> list[int]:
    """The first ``limit`` visible ids (enough to rotate over; all of them costs a manager seconds)."""
    from django.db import DatabaseError, transaction

    try:
        with transaction.atomic():
            return list(qs.order_by("pk").values_list("pk", flat=True)[:limit])
    except DatabaseError:  # timed out: rotate over records of owners in the user's scope instead
        from salesflow.users.permissions import visible_owner_ids

        owners = visible_owner_ids(user)
        fallback = qs.model.objects.all() if owners is None else qs.model.objects.filter(owner_id__in=owners)
        return list(fallback.order_by("pk").values_list("pk", flat=True)[:limit])


#: how deep the "page 200" scenarios go
DEEP_PAGE = 200


def deep_page_url(user: Any, path: str, page: int) -> str:
    """The URL of page ``page`` of a list as its pager links it: the "Next" link of page
    ``page - 1`` (keyset: ``?page=N&after=<cursor>``, see ``core.web.paginate``). Page
    ``page - 1`` is read once by ``OFFSET``, untimed; without a link, ``?page=N``."""
    import html
    import re

    from django.db import connection
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.force_login(user)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
    try:
        response = client.get(f"{path}?page={page - 1}")
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = %s", [f"{STATEMENT_TIMEOUT_S}s"])
    links = re.findall(r'href="(\?[^"]*\bafter=[^"]*)"', response.content.decode())
    return f"{path}{html.unescape(links[-1])}" if response.status_code == 200 and links else f"{path}?page={page}"


def context_for(user: Any, n: int) -> Context:
    from salesflow.leads.permissions import leads_visible_to
    from salesflow.parties.permissions import accounts_visible_to
    from salesflow.sales.models import Stage
    from salesflow.sales.permissions import opportunities_visible_to
    from salesflow.sales.services import default_pipeline

    stage = Stage.objects.get(pipeline=default_pipeline(), code="needs")
    return Context(
        user=user,
        stage_id=stage.pk,
        lead_query="华达",
        account_ids=spread(_first_ids(accounts_visible_to(user), user), n),
        opportunity_ids=spread(_first_ids(opportunities_visible_to(user), user), n),
        lead_ids=spread(_first_ids(leads_visible_to(user), user), n),
    )


def measure(
    scenario: Scenario, user: Any, token: str, ctx: Context, requests: int, warmup: int, persona: str = ""
) -> Result:
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
    result = Result(scenario.name, scenario.kind, user.username, persona)

    def get(i: int, *, count: bool = True) -> Any:
        response = client.get(scenario.path(ctx, i))
        if count:
            result.statuses[response.status_code] += 1
        exc_info = getattr(response, "exc_info", None)  # set by the client when the view raised
        if response.status_code >= 500 and not result.error and exc_info:
            exc = exc_info[1]
            result.error = f"{type(exc).__name__}: {str(exc)[:160]}"
        return response

    scenario.path(ctx, 0)  # untimed set-up (a deep page's cursor)
    for i in range(warmup):
        get(i)
    result.statuses.clear()
    for i in range(requests):
        started, cpu = time.perf_counter(), time.process_time()
        response = get(warmup + i)
        result.times_ms.append((time.perf_counter() - started) * 1000)
        result.cpu_ms.append((time.process_time() - cpu) * 1000)
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
        "test client; queries = SQL statements for one request. Budget = p95 target from ARCHITECTURE.md. "
        "CPU = this process's CPU time (on SQLite it includes the database; PostgreSQL's server is not in it), "
        "steadier than wall time on a shared machine.",
        "",
        "| Scenario | User | Status | p50 ms | p95 ms | max ms | CPU p50 | CPU p95 | Queries | KB | Budget |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in results:
        status = ", ".join(f"{code}×{n}" for code, n in sorted(r.statuses.items()))
        if r.placeholder:
            status += " (placeholder)"
        lines.append(
            f"| {r.scenario} | {r.user} | {status} | {statistics.median(r.times_ms):.1f} | {r.pct(0.95):.1f} | "
            f"{max(r.times_ms):.1f} | {statistics.median(r.cpu_ms):.1f} | {r.pct(0.95, cpu=True):.1f} | "
            f"{r.queries} | {r.size / 1024:.0f} | {r.budget} |"
        )
    lines += summary(results)
    errors = [r for r in results if r.error]
    if errors:
        lines += ["", "Errors:", ""]
        lines += [f"- {r.scenario} ({r.user}): `{r.error}`" for r in errors]
    return "\n".join(lines) + "\n"


def summary(results: list[Result]) -> list[str]:
    """p95 (and query count) of each scenario per persona, side by side, with the pages over budget."""
    personas = list(dict.fromkeys(r.persona for r in results))
    by_key = {(r.scenario, r.persona): r for r in results}
    lines = [
        "",
        "## p95 ms per persona (queries)",
        "",
        "| Scenario | " + " | ".join(personas) + " |",
        "|---|" + "--:|" * len(personas),
    ]
    over: list[str] = []
    for scenario in dict.fromkeys(r.scenario for r in results):
        cells = []
        for persona in personas:
            r = by_key.get((scenario, persona))
            if r is None:
                cells.append("")
                continue
            mark = ""
            if not r.ok:
                mark = " (failed)"
            elif r.pct(0.95) >= BUDGET_MS[r.kind]:
                mark = " **over**"
                over.append(f"{scenario} ({persona}, {r.pct(0.95):.0f} ms)")
            cells.append(f"{r.pct(0.95):.0f} ({r.queries}){mark}")
        lines.append(f"| {scenario} | " + " | ".join(cells) + " |")
    lines += ["", "Over budget: " + ("; ".join(over) if over else "none")]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per scenario and user (30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first (3)")
    parser.add_argument("--only", default="", help="run only scenarios whose name contains this text (several: a,b)")
    parser.add_argument(
        "--personas",
        default=",".join(PERSONAS),
        help=f"comma-separated personas to measure ({','.join(PERSONAS)})",
    )
    parser.add_argument("--timeout", type=float, default=10, help="PostgreSQL statement timeout in seconds (10)")
    parser.add_argument("--database", default="", help="benchmark database URL (default: BENCH_DATABASE_URL)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.md")
    args = parser.parse_args()
    personas = [p.strip() for p in args.personas.split(",") if p.strip()]
    unknown = [p for p in personas if p not in PERSONAS]
    if unknown or not personas:
        parser.error(f"--personas: choose among {', '.join(PERSONAS)}")
    if args.database:
        os.environ["BENCH_DATABASE_URL"] = args.database

    url = setup_django()

    # Templates resolve {% static %} through the manifest of `collectstatic`, which a
    # checkout may not have run; plain static URLs cost the same.
    plain_static_files()
    # A failing page is reported in the table; its traceback would only drown the output.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    meta = read_meta()
    if meta is None:
        print(f"No benchmark data in {redacted(url)}; run bench/generate.py first.", file=sys.stderr)
        return 1

    import django
    from django.db import connection

    if connection.vendor == "postgresql":
        # A runaway plan is reported as a failed page (500) instead of stalling the run.
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(args.timeout * 1000)}")
    global STATEMENT_TIMEOUT_S
    STATEMENT_TIMEOUT_S = args.timeout

    from salesflow.users.models import User
    from salesflow.users.services import api_token_create

    users = [User.objects.get(username=meta["users"][PERSONAS[persona]]) for persona in personas]
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
        "Users": ", ".join(f"{persona} `{u.username}`" for persona, u in zip(personas, users, strict=True)),
        "Machine": f"{platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}, "
        f"Django {django.__version__}",
    }
    from salesflow.core.runtime import settle_heap

    settle_heap()  # as salesflow/wsgi.py does in the serving process
    print(f"Benchmarking {redacted(url)} (scale {meta['scale']}), {args.requests} requests per scenario …")
    results = []
    for scenario in SCENARIOS:
        if args.only and not any(part in scenario.name.lower() for part in args.only.lower().split(",") if part):
            continue
        for persona, user in zip(personas, users, strict=True):
            result = measure(scenario, user, tokens[user.pk], contexts[user.pk], args.requests, args.warmup, persona)
            results.append(result)
            print(
                f"  {scenario.name:<46} {persona:<8} p50 {statistics.median(result.times_ms):7.1f} ms  "
                f"p95 {result.pct(0.95):7.1f} ms  cpu p50 {statistics.median(result.cpu_ms):6.1f} "
                f"p95 {result.pct(0.95, cpu=True):6.1f}  {result.queries:>3} queries  {dict(result.statuses)}",
                flush=True,
            )
    report = render(results, header, args.requests)
    if not args.only or "export" in args.only.lower():
        report += export_section(users)  # issue 6: export of 10,000 rows
    if not args.only or "pdf" in args.only.lower():  # issue 9 (quotes): one quote PDF < 1 s
        from bench.quote_pdf import quote_pdf_section

        report += quote_pdf_section(users)
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
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


if __name__ == "__main__":
    sys.exit(main())
