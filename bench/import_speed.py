#!/usr/bin/env python
"""Measure the import of N lead rows with the duplicate check (issue 8).

    BENCH_DATABASE_URL=sqlite:////tmp/imp.sqlite3 .venv/bin/python bench/import_speed.py --rows 10000

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
    stamp = int(time.time())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["姓名", "公司名称", "手机", "邮箱", "线索来源", "创建日期"])
    for i in range(args.rows):
        company = f"基准公司{stamp}{i}有限公司"
        writer.writerow([f"客户{i}", company, f"13{stamp % 10}{i:08d}", "", "inbound", "2024-01-02"])
    data = buffer.getvalue().encode("utf-8")
    timings: dict[str, float] = {"prepare": 0.0, "write": 0.0}
    original_prepare, original_write = rowlib.prepare_batch, rowlib.write_row
    original_write_many = getattr(rowlib, "write_lead_rows", None)

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
            assert original_write_many is not None
            return original_write_many(*a, **k)
        finally:
            timings["write"] += time.perf_counter() - start

    rowlib.prepare_batch = timed_prepare  # type: ignore[assignment]
    rowlib.write_row = timed_write  # type: ignore[assignment]
    if original_write_many is not None:
        rowlib.write_lead_rows = timed_write_many  # type: ignore[assignment]
    start = time.perf_counter()
    job = services.import_upload(actor=admin, kind="lead", upload=SimpleUploadedFile("bench.csv", data))
    upload_s = time.perf_counter() - start
    start = time.perf_counter()
    shown = preview(job)
    preview_s = time.perf_counter() - start
    services.import_start(actor=admin, job=job, mode="valid_rows")
    timings.update(prepare=0.0, write=0.0)  # the preview above ran prepare_batch too
    start = time.perf_counter()
    cpu_start = time.process_time()
    done = services.import_execute(job_id=job.pk)
    run_s = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    assert done is not None
    print(f"database: {redacted(url)}")
    print(f"rows: {args.rows}  created: {done.created_count}  rejected: {done.rejected_count}  status: {done.status}")
    print(f"upload + checks + parse: {upload_s:.2f} s")
    print(f"preview of {len(shown.rows)} rows with duplicate candidates: {preview_s:.2f} s")
    print(f"run: {run_s:.1f} s = {args.rows / run_s:.0f} rows/s (wall)")
    print(f"run CPU time of this process: {cpu_s:.1f} s = {args.rows / cpu_s:.0f} rows per CPU-second")
    print("  (on SQLite the queries run in this process; on PostgreSQL the server's time is not in it)")
    print(f"  checking rows (lookups, strong keys): {timings['prepare']:.1f} s")
    print(f"  writing rows (lead_create_many + intake checks + audit + search index): {timings['write']:.1f} s")
    print(f"  the rest (file read, savepoints, ImportRow states, progress): {run_s - sum(timings.values()):.1f} s")


if __name__ == "__main__":
    main()
