"""The statistics of "most likely achievable revenue" (最可能实现的收入), in pure numpy and
separate from the ORM, so that they can be tested on generated histories quickly.

Method (what the page and the docs state):

* **Win rates** are estimated from closed deals' stays in open stages. A stay of ``d`` days in
  stage ``s`` of a deal that finally won (or lost) is one *observation* for every age bucket
  ``k`` with ``AGE_BUCKETS[k] <= d``: it was still in the stage at the start of that bucket.
  So the rate of cell (stage, bucket, segment) answers "of the deals that had been in this
  stage at least this long, how many were won?", which is what we know of an open deal.
* **Shrinkage** (beta-binomial, empirical Bayes with a fixed prior strength ``m``): the stage
  rate ``p_s`` is the observed share over all stays (the configured stage probability when the
  stage has no history); the bucket rate is ``(w + m·p_s) / (n + m)``; the cell (with its
  segment) ``(w + m·p_b) / (n + m)``. A small cell stays near its stage's rate; a large one
  speaks for itself.
* **Timing**: a deal's close date is its expected close date plus a slip drawn from the team's
  historical slips (``actual close date − the expected close date the deal had``), *given that
  it has not closed before today*: the slip is drawn among the historical slips at least
  ``today − expected``. The probability of closing inside ``[today, end]`` is therefore
  ``#{slips in [today−E, end−E]} / #{slips ≥ today−E}`` (0 when no historical slip was that
  late: the deal is staler than any deal ever won).
* **Monte Carlo**: win and timing are independent per deal, so a deal lands in the period
  with ``q = p_win × p_time`` and the period's total is ``closed + Σ amount_i · B_i`` with
  ``B_i ~ Bernoulli(q_i)``, drawn ``n_sims`` times with a fixed seed (same input → same
  figures), in chunks so memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: lower bounds (days in stage) of the age buckets: [0, 7), [7, 30), [30, 90), [90, ∞)
AGE_BUCKETS: tuple[int, ...] = (0, 7, 30, 90)
#: pseudo-observations of the prior in the shrinkage
PRIOR_STRENGTH = 20.0
#: default number of simulated periods
N_SIMS = 4000
#: default seed (fixed: the same deals give the same percentiles)
SEED = 20261103
#: bins of the reliability diagram (predicted probability)
RELIABILITY_BINS = 10


def age_bucket(days: npt.ArrayLike) -> IntArray:
    """The bucket index of ages in days (negative ages count as 0)."""
    d = np.maximum(np.asarray(days, dtype=np.float64), 0.0)
    return np.searchsorted(np.asarray(AGE_BUCKETS, dtype=np.float64), d, side="right").astype(np.int64) - 1


def survived_counts(exact: npt.ArrayLike) -> IntArray:
    """From counts by the bucket a stay *ended* in (last axis), the counts of stays that
    reached each bucket's start: a reverse cumulative sum along the last axis."""
    a = np.asarray(exact, dtype=np.int64)
    return np.flip(np.cumsum(np.flip(a, axis=-1), axis=-1), axis=-1)


def shrink(wins: npt.ArrayLike, n: npt.ArrayLike, prior: npt.ArrayLike, strength: float = PRIOR_STRENGTH) -> FloatArray:
    """Beta-binomial posterior mean ``(w + m·prior) / (n + m)`` (elementwise)."""
    w = np.asarray(wins, dtype=np.float64)
    nn = np.asarray(n, dtype=np.float64)
    p = np.asarray(prior, dtype=np.float64)
    return np.asarray((w + strength * p) / (nn + strength), dtype=np.float64)


@dataclass(frozen=True)
class Calibration:
    """Calibrated win rates: ``rates[stage, bucket, segment]`` (segment index ``n_segments``
    is "any segment", the bucket rate), with the counts behind them."""

    stage_rate: FloatArray  # [S]
    bucket_rate: FloatArray  # [S, B]
    rates: FloatArray  # [S, B, G+1]
    n: IntArray  # [S, B, G+1] stays that reached the bucket
    wins: IntArray  # [S, B, G+1]


def calibrate(
    exact_n: npt.ArrayLike,
    exact_wins: npt.ArrayLike,
    configured: npt.ArrayLike,
    strength: float = PRIOR_STRENGTH,
) -> Calibration:
    """Calibrated rates from counts by (stage, segment, bucket the stay ended in):
    ``exact_n[S, G, B]`` stays and ``exact_wins[S, G, B]`` of them whose deal was won;
    ``configured[S]`` (0–1) is the prior of a stage without history."""
    en = np.asarray(exact_n, dtype=np.int64)
    ew = np.asarray(exact_wins, dtype=np.int64)
    conf = np.asarray(configured, dtype=np.float64)
    seg_n = survived_counts(en)  # [S, G, B]
    seg_w = survived_counts(ew)
    all_n = seg_n.sum(axis=1)  # [S, B]
    all_w = seg_w.sum(axis=1)
    stage_n, stage_w = all_n[:, 0], all_w[:, 0]  # every stay reached bucket 0
    stage_rate = np.where(stage_n > 0, stage_w / np.maximum(stage_n, 1), conf)
    bucket_rate = shrink(all_w, all_n, stage_rate[:, None], strength)
    cell_rate = shrink(seg_w, seg_n, bucket_rate[:, None, :], strength)  # [S, G, B]
    rates = np.concatenate([np.transpose(cell_rate, (0, 2, 1)), bucket_rate[:, :, None]], axis=2)
    n = np.concatenate([np.transpose(seg_n, (0, 2, 1)), all_n[:, :, None]], axis=2)
    w = np.concatenate([np.transpose(seg_w, (0, 2, 1)), all_w[:, :, None]], axis=2)
    return Calibration(stage_rate, bucket_rate, rates, n, w)


def time_probability(sorted_slips: FloatArray, lower: FloatArray, upper: FloatArray) -> FloatArray:
    """For each deal, ``P(slip ≤ upper | slip ≥ lower)`` under the empirical distribution
    ``sorted_slips`` (ascending, days): the chance that a deal expected on ``E`` and still open
    today closes by the period's end, with ``lower = today − E`` and ``upper = end − E``. Zero
    where no historical slip is ``≥ lower`` or the history is empty."""
    n = sorted_slips.size
    if n == 0:
        return np.zeros_like(np.asarray(lower, dtype=np.float64))
    lo = np.searchsorted(sorted_slips, lower, side="left")
    hi = np.searchsorted(sorted_slips, upper, side="right")
    eligible = n - lo
    inside = np.maximum(hi - lo, 0)
    return np.where(eligible > 0, inside / np.maximum(eligible, 1), 0.0).astype(np.float64)


def simulate(
    amounts: npt.ArrayLike, q: npt.ArrayLike, *, n_sims: int = N_SIMS, seed: int = SEED, chunk: int = 0
) -> FloatArray:
    """``n_sims`` draws of ``Σ amount_i · Bernoulli(q_i)`` (vectorised, in chunks of
    simulations so that a chunk holds at most ~4M draws). Deterministic for a seed."""
    a = np.asarray(amounts, dtype=np.float64)
    p = np.clip(np.asarray(q, dtype=np.float64), 0.0, 1.0)
    keep = p > 0
    a, p = a[keep], p[keep]
    rng = np.random.default_rng(seed)
    totals = np.zeros(n_sims, dtype=np.float64)
    if a.size == 0:
        return totals
    chunk = chunk or max(1, min(n_sims, 4_000_000 // a.size))
    p32 = p.astype(np.float32)  # float32 uniforms: half the work, 1e-7 resolution of q
    for start in range(0, n_sims, chunk):
        stop = min(n_sims, start + chunk)
        draws = rng.random((stop - start, a.size), dtype=np.float32) < p32
        totals[start:stop] = np.where(draws, a, 0.0).sum(axis=1)  # sums in float64
    return totals


@dataclass(frozen=True)
class Summary:
    """The period's total: percentiles and mean of ``closed + simulated``."""

    p10: float
    p50: float
    p90: float
    mean: float
    analytic_mean: float  # closed + Σ amount·q, the exact expectation


def summarise(closed: float, amounts: npt.ArrayLike, q: npt.ArrayLike, totals: FloatArray) -> Summary:
    """P10, P50, P90 (numpy linear interpolation) and mean of ``closed + totals``."""
    t = closed + totals
    p10, p50, p90 = (float(x) for x in np.percentile(t, [10, 50, 90]))
    a = np.asarray(amounts, dtype=np.float64)
    exact = closed + float(np.dot(a, np.clip(np.asarray(q, dtype=np.float64), 0, 1)))
    return Summary(p10, p50, p90, float(t.mean()), exact)


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of the reliability diagram: predicted mean and actual rate over ``n``
    observations (``None`` for an empty bin)."""

    lo: float
    hi: float
    n: int
    predicted: float | None
    actual: float | None


def reliability(
    predicted: npt.ArrayLike, n: npt.ArrayLike, wins: npt.ArrayLike, bins: int = RELIABILITY_BINS
) -> list[ReliabilityBin]:
    """Groups of observations (each with one predicted probability, ``n`` cases and ``wins``)
    binned by prediction: per bin the case-weighted mean prediction and the actual win rate."""
    p = np.clip(np.asarray(predicted, dtype=np.float64), 0.0, 1.0)
    nn = np.asarray(n, dtype=np.float64)
    ww = np.asarray(wins, dtype=np.float64)
    idx = np.minimum((p * bins).astype(np.int64), bins - 1)
    cnt = np.bincount(idx, weights=nn, minlength=bins)
    pred = np.bincount(idx, weights=nn * p, minlength=bins)
    won = np.bincount(idx, weights=ww, minlength=bins)
    out = []
    for b in range(bins):
        c = int(np.rint(cnt[b]))
        out.append(
            ReliabilityBin(
                b / bins,
                (b + 1) / bins,
                c,
                float(pred[b] / cnt[b]) if c else None,
                float(won[b] / cnt[b]) if c else None,
            )
        )
    return out
