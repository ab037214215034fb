#!/usr/bin/env python
"""Measure the import of N rows with the duplicate check (issue 8).

    BENCH_DATABASE_URL=sqlite:////tmp/imp.sqlite3 .venv/bin/python bench/import_speed.py --rows 10000
    ... bench/import_speed.py --kind account --rows 10000   (or --kind contact)

``--kind`` lead (default), account, contact or opportunity: contacts and opportunities are
attached to existing accounts of the database (names of the first accounts by id, cycled);
opportunities are a mix of open (half), won (a quarter) and lost (a quarter) deals with
historical dates.

Lead and account rows are drawn from the generator's own vocabulary (``bench/generate.py``:
city + brand + industry word + 有限公司, generated Chinese person names), with new mobiles and
phones, so they share company stems, company pinyin and name pinyin with the existing
records the way a real file does and the duplicate check scores real candidate pairs
(``--distinct`` writes the old synthetic names that share no key with the data: 0 pairs).

Migrates the database named by ``BENCH_DATABASE_URL`` (default ``var/bench.sqlite3``),
writes a CSV of ``--rows`` leads with Chinese headers, uploads it as an administrator
and runs the import in this process (``imports.services.import_execute``, valid-rows
mode, batches of 200). Prints rows/s for the whole run, and how the time splits between
reading the file, checking rows (lookups + strong keys) and writing them through
``leads.services.lead_create_many`` (a batch at a time), with the CPU time of the run;
then the preview of 200 rows with duplicate candidates.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import redacted, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--kind", choices=("lead", "account", "contact", "opportunity"), default="lead")
    parser.add_argument("--distinct", action="store_true", help="names that share no matching key with the data")
    parser.add_argument("--batch", type=int, default=200, help="rows per import batch (default 200)")
    parser.add_argument("--profile", help="write a cProfile of the run (CPU time) to this file")
    parser.add_argument("--no-preview", action="store_true", help="skip the preview of 200 rows")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="draw the rows (names, companies, mobiles) from this seed instead of the clock, so two "
        "copies of one database get the same file (before/after comparisons)",
    )
    args = parser.parse_args()
    url = setup_django()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from salesflow.imports import rows as rowlib
    from salesflow.imports import services
    from salesflow.imports.selectors import preview
    from salesflow.users.choices import Role
    from salesflow.users.models import User

    admin, _created = User.objects.get_or_create(
        username="bench-importer", defaults={"role": Role.ADMIN, "display_name": "Bench importer"}
    )
    stamp = args.seed or int(time.time())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    import random

    from salesflow.demo import data as vocabulary
    from salesflow.demo.generate import make_person

    rng = random.Random(stamp)
    cities = [city for options in vocabulary.CITIES.values() for city, _code, _divs in options]

    def company_name(i: int) -> str:
        if args.distinct:
            return f"基准公司{stamp}{i}有限公司"
        industry = rng.choice(list(vocabulary.INDUSTRY_WORDS))
        brand = rng.choice(vocabulary.BRAND_FIRST)[0] + rng.choice(vocabulary.BRAND_SECOND)[0]
        return f"{rng.choice(cities)}{brand}{rng.choice(vocabulary.INDUSTRY_WORDS[industry])}有限公司"

    if args.kind == "lead":
        writer.writerow(["姓名", "公司名称", "手机", "邮箱", "线索来源", "创建日期"])
        for i in range(args.rows):
            person = f"客户{i}" if args.distinct else make_person(rng).name
            writer.writerow([person, company_name(i), f"16{stamp % 10}{i:08d}", "", "inbound", "2024-01-02"])
    elif args.kind == "account":
        writer.writerow(["客户名称", "电话", "行业", "客户等级", "创建日期"])
        for i in range(args.rows):
            name = company_name(i) if args.distinct else f"{company_name(i)[:-4]}{i}号分公司"
            writer.writerow([name, f"021-6{i:07d}"[:12], "manufacturing", "B", "2024-01-02"])
    elif args.kind == "opportunity":
        from salesflow.parties.models import Account

        names = list(Account.objects.order_by("pk").values_list("name", flat=True)[:2000])
        writer.writerow(["客户名称", "商机名称", "金额", "结果", "输单原因", "创建日期", "成交日期"])
        for i in range(args.rows):
            outcome = ("open", "open", "won", "lost")[i % 4]
            closed = "2024-03-05" if outcome != "open" else ""
            reason = "价格过高" if outcome == "lost" else ""
            row = [names[i % len(names)], f"基准商机{stamp}-{i}", f"{(i % 500 + 1) * 1000}", outcome, reason]
            writer.writerow([*row, "2024-01-02", closed])
    else:
        from salesflow.parties.models import Account

        names = list(Account.objects.order_by("pk").values_list("name", flat=True)[:2000])
        writer.writerow(["客户名称", "联系人", "手机", "邮箱", "职位", "创建日期"])
        for i in range(args.rows):
            writer.writerow([names[i % len(names)], f"联系人{i}", f"15{stamp % 10}{i:08d}", "", "经理", "2024-01-02"])
    data = buffer.getvalue().encode("utf-8")
    timings: dict[str, float] = {"prepare": 0.0, "write": 0.0}
    original_prepare, original_write = rowlib.prepare_batch, rowlib.write_row
    original_write_many = rowlib.write_rows

    def timed_prepare(*a: Any, **k: Any) -> Any:
        start = time.perf_counter()
        try:
            return original_prepare(*a, **k)
        finally:
            timings["prepare"] += time.perf_counter() - start

    def timed_write(*a: Any, **k: Any) -> Any:
        start = time.perf_counter()
        try:
            return original_write(*a, **k)
        finally:
            timings["write"] += time.perf_counter() - start

    def timed_write_many(*a: Any, **k: Any) -> Any:
        start = time.perf_counter()
        try:
            return original_write_many(*a, **k)
        finally:
            timings["write"] += time.perf_counter() - start

    rowlib.prepare_batch = timed_prepare  # type: ignore[assignment]
    rowlib.write_row = timed_write  # type: ignore[assignment]
    rowlib.write_rows = timed_write_many  # type: ignore[assignment]
    from salesflow.dedupe import matching

    scored = {"pairs": 0}
    original_score = matching.score_pair

    def counted_score(*a: Any, **k: Any) -> Any:
        scored["pairs"] += 1
        return original_score(*a, **k)

    matching.score_pair = counted_score  # type: ignore[assignment]
    start = time.perf_counter()
    job = services.import_upload(actor=admin, kind=args.kind, upload=SimpleUploadedFile("bench.csv", data))
    upload_s = time.perf_counter() - start
    start = time.perf_counter()
    shown_rows = 0 if args.no_preview else len(preview(job).rows)
    preview_s = time.perf_counter() - start
    services.import_start(actor=admin, job=job, mode="valid_rows")
    timings.update(prepare=0.0, write=0.0)  # the preview above ran prepare_batch too
    scored["pairs"] = 0
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time: the machine is shared
        profiler.enable()
    start = time.perf_counter()
    cpu_start = time.process_time()
    done = services.import_execute(job_id=job.pk, batch_size=args.batch)
    run_s = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    assert done is not None
    print(f"database: {redacted(url)}")
    print(
        f"kind: {args.kind}  rows: {args.rows}  created: {done.created_count}  "
        f"skipped: {done.skipped_count}  rejected: {done.rejected_count}  status: {done.status}"
    )
    pairs = scored["pairs"]
    print(
        f"pairs scored by the matcher during the run: {pairs / args.rows:.1f} per row, "
        f"{pairs / run_s:,.0f} pairs/s (wall), {pairs / cpu_s:,.0f} per CPU-second"
    )
    print(f"upload + checks + parse: {upload_s:.2f} s")
    print(f"preview of {shown_rows} rows with duplicate candidates: {preview_s:.2f} s")
    print(f"run: {run_s:.1f} s = {args.rows / run_s:.0f} rows/s (wall)")
    print(f"run CPU time of this process: {cpu_s:.1f} s = {args.rows / cpu_s:.0f} rows per CPU-second")
    print("  (on SQLite the queries run in this process; on PostgreSQL the server's time is not in it)")
    print(f"  checking rows (lookups, strong keys): {timings['prepare']:.1f} s")
    print(f"  writing rows (*_create_many + intake checks + audit + search index): {timings['write']:.1f} s")
    print(f"  the rest (file read, savepoints, ImportRow states, progress): {run_s - sum(timings.values()):.1f} s")


if __name__ == "__main__":
    main()
