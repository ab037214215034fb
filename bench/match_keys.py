#!/usr/bin/env python
"""Block sizes of the duplicate matcher's blocking keys in the bench database (issue 8).

    BENCH_DATABASE_URL=sqlite:////work/bench/imp.sqlite3 .venv/bin/python bench/match_keys.py

For every stored key column the matcher fetches by (leads: mobile, phone key, email, credit
code, company stem, company pinyin, name pinyin; contacts: mobile, phone key, email, name
pinyin; accounts: credit code, company stem, company pinyin, phone key) prints how many
distinct non-empty keys there are, the block-size percentiles, the largest blocks, and how
many keys (and records) lie above ``dedupe.matching.MAX_PER_KEY`` — the blocks bounded
blocking leaves out. Read-only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import redacted, setup_django

COLUMNS = {
    "lead": ("mobile", "phone_key", "email", "credit_code", "company_stem", "company_pinyin", "name_pinyin"),
    "contact": ("mobile", "phone_key", "email", "name_pinyin"),
    "account": ("credit_code", "company_stem", "company_pinyin", "phone_key"),
}


def percentile(sizes: list[int], p: float) -> int:
    return sizes[min(len(sizes) - 1, int(len(sizes) * p))] if sizes else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--top", type=int, default=3, help="largest blocks shown per column")
    args = parser.parse_args()
    url = setup_django()
    from django.db.models import Count

    from salesflow.dedupe.matching import _MODELS, MAX_PER_KEY

    print(f"database: {redacted(url)}   bound (MAX_PER_KEY): {MAX_PER_KEY}")
    print(
        f"{'kind.column':<24} {'rows':>9} {'keys':>9} {'p50':>5} {'p90':>5} {'p99':>6} {'max':>7} "
        f"{'>bound':>7} {'rows>bound':>10}  largest"
    )
    for kind, columns in COLUMNS.items():
        model = _MODELS[kind]  # type: ignore[index]
        for column in columns:
            start = time.perf_counter()
            counts = list(
                model.objects.exclude(**{column: ""})
                .values_list(column)
                .annotate(n=Count("pk"))
                .order_by()
                .values_list(column, "n")
            )
            sizes = sorted(n for _key, n in counts)
            over = [n for n in sizes if n > MAX_PER_KEY]
            top = sorted(counts, key=lambda kv: -kv[1])[: args.top]
            print(
                f"{kind + '.' + column:<24} {sum(sizes):>9} {len(sizes):>9} {percentile(sizes, 0.5):>5} "
                f"{percentile(sizes, 0.9):>5} {percentile(sizes, 0.99):>6} {sizes[-1] if sizes else 0:>7} "
                f"{len(over):>7} {sum(over):>10}  {', '.join(f'{k[:16]}={n}' for k, n in top)}"
                f"  ({time.perf_counter() - start:.1f} s)"
            )


if __name__ == "__main__":
    main()
