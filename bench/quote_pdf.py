#!/usr/bin/env python
"""Time the quote PDF (issue 9): one quote of 20 lines with Chinese product names, rendered
through the download page (``/quotes/<id>/pdf/``, the full middleware stack) in Chinese and
in English. Budget: one PDF < 1 s (wall time; the CPU time of the process is shown too, as a busy
machine stretches wall time). ``bench/run.py`` appends this section to its report;
alone:

    .venv/bin/python bench/quote_pdf.py [--requests 10] [--database URL]

The quote is created once in the benchmark database (as the administrator, on the first
deal) and reused by later runs. Without benchmark data (``bench/generate.py`` not run), the
script measures on a throwaway test database instead (the PDF's time does not depend on
the amount of data: one quote, its lines and the company profile are read).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import plain_static_files, read_meta, setup_django

PDF_BUDGET_MS = 1000
TITLE = "bench: quote PDF"
NAMES = [
    ("销售管理系统 企业版", "Sales management system, Enterprise"),
    ("智能仓储管理系统", "Warehouse management system"),
    ("实施服务（人天）", "Implementation (person-days)"),
    ("年度运维服务", "Annual support"),
    ("用户许可", "User licence"),
]


def bench_quote(admin: Any) -> Any:
    from salesflow.quotes.models import Quote
    from salesflow.quotes.services import quote_create, quote_issue
    from salesflow.sales.models import Opportunity

    quote = Quote.objects.filter(title=TITLE).first()
    if quote is not None:
        return quote
    deal = Opportunity.objects.order_by("id").first()
    assert deal is not None, "no deals in the benchmark database"
    lines = [
        {
            "code": f"B-{i:03d}",
            "name_zh": NAMES[i % len(NAMES)][0],
            "name_en": NAMES[i % len(NAMES)][1],
            "unit": "套",
            "quantity": str(1 + i % 7),
            "unit_price": f"{(i + 1) * 1234}.50",
            "discount_percent": str(i % 3 * 5),
            "tax_rate": "13" if i % 2 else "6",
        }
        for i in range(20)
    ]
    quote = quote_create(actor=admin, opportunity=deal, title=TITLE, lines=lines)
    return quote_issue(actor=admin, quote=quote)


def quote_pdf_section(users: list[Any], requests: int = 10) -> str:
    """Markdown section: p50/p95 of the PDF download per language, against the budget."""
    from django.test import Client

    admin = next((u for u in users if u.is_admin), users[-1])
    quote = bench_quote(admin)
    client = Client()
    client.force_login(admin)
    lines = [
        "",
        f"## Quote PDF (issue 9; 20 lines, budget {PDF_BUDGET_MS} ms per PDF)",
        "",
        "| Language | p50 ms | p95 ms | max ms | CPU p50 ms | bytes | Budget |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for language in ("zh-hans", "en"):
        url = f"/quotes/{quote.pk}/pdf/?lang={language}"
        response = client.get(url)  # warm-up: fonts loaded once per process
        assert response.status_code == 200, response.status_code
        times, cpu = [], []
        for _ in range(requests):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        ordered = sorted(times)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        ok = "ok" if p95 < PDF_BUDGET_MS else "**over**"
        p50 = statistics.median(times)
        size = len(response.content)
        cpu50 = statistics.median(cpu)
        lines.append(f"| {language} | {p50:.0f} | {p95:.0f} | {max(times):.0f} | {cpu50:.0f} | {size:,} | {ok} |")
        print(f"  quote PDF {language:<8} p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms", flush=True)
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    if args.database:
        os.environ["BENCH_DATABASE_URL"] = args.database
    setup_django()

    plain_static_files()
    meta = read_meta()
    if meta is None:
        from django.db import connection
        from django.test.utils import setup_test_environment

        print("No benchmark data: measuring on a throwaway test database.", file=sys.stderr)
        setup_test_environment()
        connection.creation.create_test_db(verbosity=0)
        from salesflow.sales.tests.factories import make_opportunity
        from salesflow.users.testing import make_personas

        personas = make_personas()
        make_opportunity(personas.rep, name="基准测试 报价单 PDF")
        admin = personas.admin
    else:
        from salesflow.users.models import User

        admin = User.objects.get(username=meta["users"]["admin"])
    print(quote_pdf_section([admin], args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
