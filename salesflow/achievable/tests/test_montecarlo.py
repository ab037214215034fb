"""The pure statistics of ``achievable.montecarlo`` against hand-worked figures, an independent
computation, and coverage on generated histories (issue 11 item 3: the P10–P90 interval holds
the realised value about 80% of the time)."""

from __future__ import annotations

import numpy as np
import pytest

from salesflow.achievable import montecarlo as mc

S, G, B = 3, 2, len(mc.AGE_BUCKETS)


def test_age_bucket_edges() -> None:
    assert mc.age_bucket([-3, 0, 6.9, 7, 29, 30, 89, 90, 400]).tolist() == [0, 0, 0, 1, 1, 2, 2, 3, 3]


def test_survived_counts_is_a_reverse_cumulative_sum() -> None:
    assert mc.survived_counts([5, 3, 2, 1]).tolist() == [11, 6, 3, 1]


def test_shrinkage_hand_worked() -> None:
    # 3 wins of 4 stays, prior 0.2 with strength 20: (3 + 4) / 24
    assert mc.shrink(3, 4, 0.2)[()] == pytest.approx(7 / 24)
    # a large cell keeps its own rate nearly
    assert mc.shrink(600, 1000, 0.2)[()] == pytest.approx(604 / 1020)


def test_calibrate_hand_worked_and_no_history_falls_back_to_configured() -> None:
    n = np.zeros((2, 1, B), dtype=np.int64)
    w = np.zeros_like(n)
    n[0, 0] = [10, 5, 0, 5]  # 20 stays: 10 ended before a week …
    w[0, 0] = [2, 1, 0, 5]
    cal = mc.calibrate(n, w, [0.5, 0.3])
    assert cal.stage_rate.tolist() == pytest.approx([8 / 20, 0.3])
    assert cal.n[0, :, 1].tolist() == [20, 10, 5, 5]  # reached each bucket
    # bucket 1: 6 wins of 10, shrunk to the stage rate 0.4
    assert cal.bucket_rate[0, 1] == pytest.approx((6 + 20 * 0.4) / 30)
    # the one segment's cell shrinks towards the bucket rate
    assert cal.rates[0, 1, 0] == pytest.approx((6 + 20 * cal.bucket_rate[0, 1]) / 30)
    assert np.allclose(cal.rates[1], 0.3)


def test_time_probability_conditional_on_still_open() -> None:
    slips = np.array([-5.0, 0, 0, 3, 10, 20, 40], dtype=np.float64)
    # expected today (lower 0), period ends in 10 days: of {0,0,3,10,20,40}, 4 land by day 10
    assert mc.time_probability(slips, np.array([0.0]), np.array([10.0]))[0] == pytest.approx(4 / 6)
    # overdue by 15 days: among {20, 40}, none by upper = end − E = 25 − … 10 + 15 = 25 → 1 of 2
    assert mc.time_probability(slips, np.array([15.0]), np.array([25.0]))[0] == pytest.approx(1 / 2)
    # staler than any history: zero; empty history: zero
    assert mc.time_probability(slips, np.array([41.0]), np.array([60.0]))[0] == 0.0
    assert mc.time_probability(np.array([]), np.array([0.0]), np.array([9.0]))[0] == 0.0


def test_simulation_is_reproducible_and_matches_the_exact_moments() -> None:
    rng = np.random.default_rng(1)
    amounts = rng.uniform(1_000, 50_000, 300)
    q = rng.uniform(0, 1, 300)
    a = mc.simulate(amounts, q, n_sims=20_000, seed=7)
    assert np.array_equal(a, mc.simulate(amounts, q, n_sims=20_000, seed=7))
    # mean and variance of a sum of independent scaled Bernoullis (exact, independent of MC)
    mean, var = float(amounts @ q), float((amounts**2) @ (q * (1 - q)))
    assert abs(a.mean() - mean) < 4 * np.sqrt(var / a.size)
    assert a.var() == pytest.approx(var, rel=0.05)
    s = mc.summarise(1000.0, amounts, q, a)
    assert s.analytic_mean == pytest.approx(1000.0 + mean)
    assert [s.p10, s.p50, s.p90] == pytest.approx(list(np.percentile(a + 1000.0, [10, 50, 90])))
    assert mc.simulate([], [], n_sims=5).tolist() == [0.0] * 5


def test_reliability_bins_weighted_by_cases() -> None:
    bins = mc.reliability([0.05, 0.08, 0.55, 1.0], [10, 30, 4, 2], [1, 3, 3, 2])
    assert bins[0].n == 40
    assert bins[0].predicted == pytest.approx((0.5 + 2.4) / 40)
    assert bins[0].actual == pytest.approx(4 / 40)
    assert bins[5].n == 4 and bins[5].actual == pytest.approx(0.75)
    assert bins[9].n == 2 and bins[1].n == 0 and bins[1].actual is None


# ------------------------------------------------------------------ coverage on generated data


class World:
    """A synthetic sales world with KNOWN win probabilities (by stage, the bucket a stay ends
    in, and segment) and a known slip distribution."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.pi = rng.uniform(0.05, 0.8, (S, G, B))  # P(win | stay ends in bucket b)
        self.ends = np.array([0.4, 0.3, 0.2, 0.1])  # P(stay ends in bucket b)

    def slips(self, size: int) -> np.ndarray:
        r = self.rng
        late = r.random(size) < 0.3
        return np.where(late, r.gamma(2.0, 20.0, size), r.normal(0.0, 6.0, size)).round()

    def history(self, stays: int) -> tuple[np.ndarray, np.ndarray]:
        r = self.rng
        s, g = r.integers(0, S, stays), r.integers(0, G, stays)
        b = r.choice(B, stays, p=self.ends)
        won = r.random(stays) < self.pi[s, g, b]
        n = np.zeros((S, G, B), dtype=np.int64)
        w = np.zeros_like(n)
        np.add.at(n, (s, g, b), 1)
        np.add.at(w, (s, g, b), won.astype(np.int64))
        return n, w

    def period(self, deals: int, horizon: int) -> dict[str, np.ndarray]:
        """Open deals on day 0 of a period of ``horizon`` days, and what actually happens."""
        r = self.rng
        s, g = r.integers(0, S, deals), r.integers(0, G, deals)
        age = r.choice(B, deals, p=self.ends)  # the bucket the deal has reached so far
        # its stay ends in a bucket ≥ age, with the same relative frequencies
        end = np.array([r.choice(np.arange(a, B), p=self.ends[a:] / self.ends[a:].sum()) for a in age])
        won = r.random(deals) < self.pi[s, g, end]
        expected = r.integers(-30, 90, deals).astype(np.float64)
        close = np.empty(deals)
        for i in range(deals):  # the slip given it is still open today (slip ≥ −expected)
            while True:
                d = expected[i] + self.slips(1)[0]
                if d >= 0:
                    close[i] = d
                    break
        amounts = r.lognormal(10, 0.8, deals).round(2)
        realised = float(amounts[won & (close <= horizon)].sum())
        return {"s": s, "g": g, "age": age, "expected": expected, "amounts": amounts, "realised": np.array(realised)}


def test_p10_p90_covers_the_realised_value_about_80_percent() -> None:
    """200 periods of a generated world, the model fitted on its history: the realised
    total falls inside [P10, P90] in 70–90% of them (binomial sd at 80% over 200 periods is
    2.8 points, so the band is ±3.5 sd, with room for the estimation error of the rates)."""
    world = World(np.random.default_rng(11))
    n, w = world.history(60_000)
    cal = mc.calibrate(n, w, np.full(S, 0.3))
    slips = np.sort(world.slips(5_000))
    horizon, closed = 30, 50_000.0
    inside = 0
    periods = 200
    for k in range(periods):
        p = world.period(80, horizon)
        q_win = cal.rates[p["s"], p["age"], p["g"]]
        q_time = mc.time_probability(slips, -p["expected"], horizon - p["expected"])
        totals = mc.simulate(p["amounts"], q_win * q_time, n_sims=2_000, seed=k)
        summary = mc.summarise(closed, p["amounts"], q_win * q_time, totals)
        inside += summary.p10 <= closed + float(p["realised"]) <= summary.p90
    coverage = inside / periods
    assert 0.70 <= coverage <= 0.90, coverage


def test_an_uncalibrated_model_misses_the_coverage() -> None:
    """The check has teeth: an over-confident flat 90% win rate for every deal (configured
    stage probabilities the history does not bear out) leaves the band far from 80%."""
    world = World(np.random.default_rng(11))
    slips = np.sort(world.slips(5_000))
    inside = 0
    for k in range(100):
        p = world.period(80, 30)
        q = 0.9 * mc.time_probability(slips, -p["expected"], 30 - p["expected"])
        totals = mc.simulate(p["amounts"], q, n_sims=1_000, seed=k)
        s = mc.summarise(0.0, p["amounts"], q, totals)
        inside += s.p10 <= float(p["realised"]) <= s.p90
    assert inside / 100 < 0.5
