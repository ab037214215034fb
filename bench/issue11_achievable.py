"""Issue 11 item 3: how long the simulation of one node takes at bench sizes, without a
database (the page itself only reads a stored snapshot; this is the job's cost per node).

    PYTHONPATH=$PWD DJANGO_SETTINGS_MODULE=salesflow.settings \
        .venv/bin/python bench/issue11_achievable.py [--deals 165000]

Builds synthetic open deals shaped like bench scale 1.0 (6 open stages, 38 teams, expected
close dates from −10 to +150 days, ages up to a year) and a calibration of that shape, then
times ``achievable.services.simulate_deals`` for this month and this quarter.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=165_000)
    parser.add_argument("--teams", type=int, default=38)
    args = parser.parse_args()
    django.setup()
    import numpy as np

    from salesflow.achievable import montecarlo as mc
    from salesflow.achievable.selectors import OpenDeals
    from salesflow.achievable.services import simulate_deals
    from salesflow.core.periods import Period

    rng = np.random.default_rng(0)
    n, stages, teams = args.deals, list(range(1, 7)), list(range(1, args.teams + 1))
    deals = OpenDeals(
        ids=np.arange(n, dtype=np.int64),
        owner_ids=rng.integers(1, 300, n),
        stage_ids=rng.choice(stages, n),
        team_ids=rng.choice(teams, n),
        amounts=rng.integers(50, 5000, n).astype(np.float64) * 1000,
        age_days=rng.uniform(0, 365, n),
        expected_offset=rng.integers(-10, 150, n).astype(np.float64),
        configured=rng.choice([0.1, 0.2, 0.4, 0.6, 0.8], n),
    )
    shape = (len(stages), len(mc.AGE_BUCKETS), len(teams) + 1)
    cal = {
        "stage_ids": stages,
        "team_ids": teams,
        "rates": rng.uniform(0.05, 0.8, shape).tolist(),
        "slips": {"all": sorted(rng.normal(5, 20, 1001).round().astype(int).tolist())},
    }
    today = date.today()
    for label, end in (("month", today + timedelta(days=27)), ("quarter", today + timedelta(days=88))):
        period = Period(today.replace(day=1), end, "month", "bench")
        started = time.perf_counter()
        data = simulate_deals(deals, cal, period, today, 0.0)
        took = time.perf_counter() - started
        print(f"{label:8} {n:>8,} open deals, {data['simulated']:>7,} simulated × {mc.N_SIMS} runs: {took:.2f} s")


if __name__ == "__main__":
    main()
