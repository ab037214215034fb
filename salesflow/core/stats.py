"""Statistics shared by the forecasting and process-intelligence modules (issue 11).

Pure functions over plain numbers, no database. Every function states what it computes so
a page can show the method beside the figure, and the tests check each one against an
independent computation (numpy, scipy or a hand-worked example).

- :func:`percentile` is numpy's default ("linear", Hyndman & Fan type 7).
- :func:`xmr` is the individuals / moving-range chart: centre = mean, MR̄ = mean of the
  absolute differences of consecutive points, limits = centre ± 2.66 · MR̄ (2.66 = 3 / d₂,
  d₂ = 1.128 for ranges of two), σ̂ = MR̄ / 1.128.
- :func:`western_electric` flags the four Western Electric rules against a centre and σ̂.
- :func:`welch_test`, :func:`mann_whitney_test`, :func:`two_proportion_test`,
  :func:`wilson_interval` and :func:`mean_interval` are the significance tests and
  intervals; a result is "significant" at ``alpha`` (default 0.05) and always carries its
  sample sizes, so a page can say "not significant (n = 12)" honestly.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

D2 = 1.128  # the bias constant d₂ for moving ranges of two consecutive points
XMR_FACTOR = 3 / D2  # 2.66: the individuals chart's limits are centre ± 2.66 · MR̄
ALPHA = 0.05


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0–100) by linear interpolation between the closest ranks:
    the same as ``numpy.percentile(values, q)`` (method "linear"). ``None`` when empty."""
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0 and 100")
    n = len(values)
    if n == 0:
        return None
    ordered = sorted(float(v) for v in values)
    h = (n - 1) * q / 100
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def percentiles(values: Sequence[float], qs: Sequence[float] = (50, 80, 95)) -> dict[float, float | None]:
    """Several percentiles of one sample, sorted once."""
    ordered = sorted(float(v) for v in values)
    return {q: percentile(ordered, q) for q in qs}


def mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


@dataclass(frozen=True)
class XmR:
    """Individuals and moving-range chart limits of one series."""

    centre: float
    mr_bar: float
    ucl: float
    lcl: float
    sigma: float
    mr_ucl: float  # the moving-range chart's upper limit, 3.267 · MR̄
    n: int


def xmr(values: Sequence[float]) -> XmR | None:
    """Limits of the individuals (X) chart and the moving-range (mR) chart. Needs at least
    two points (one moving range); ``None`` otherwise. The lower limit is not clipped:
    a caller whose measure cannot be negative shows ``max(lcl, 0)``."""
    xs = [float(v) for v in values]
    if len(xs) < 2:
        return None
    centre = math.fsum(xs) / len(xs)
    ranges = [abs(b - a) for a, b in itertools.pairwise(xs)]
    mr_bar = math.fsum(ranges) / len(ranges)
    return XmR(
        centre=centre,
        mr_bar=mr_bar,
        ucl=centre + XMR_FACTOR * mr_bar,
        lcl=centre - XMR_FACTOR * mr_bar,
        sigma=mr_bar / D2,
        mr_ucl=3.267 * mr_bar,
        n=len(xs),
    )


@dataclass(frozen=True)
class Signal:
    """One out-of-control point: its index in the series and the rules it breaks (1–4)."""

    index: int
    rules: tuple[int, ...]


RULE_TEXT = {
    1: "one point beyond 3σ",
    2: "two of three consecutive points beyond 2σ on the same side",
    3: "four of five consecutive points beyond 1σ on the same side",
    4: "eight consecutive points on the same side of the centre",
}


def western_electric(values: Sequence[float], centre: float, sigma: float) -> list[Signal]:
    """The points that break a Western Electric rule, each with every rule it breaks. A
    run rule flags the point that completes the run (the last of the two-of-three,
    four-of-five or eight). With ``sigma`` 0 only rule 4 can fire."""
    xs = [float(v) for v in values]
    flagged: dict[int, set[int]] = {}

    def zone(x: float) -> float:
        return (x - centre) / sigma if sigma > 0 else 0.0

    z = [zone(x) for x in xs]
    for i in range(len(xs)):
        if sigma > 0 and abs(z[i]) > 3:
            flagged.setdefault(i, set()).add(1)
        for side in (1, -1):
            if i >= 2 and sigma > 0:
                window = z[i - 2 : i + 1]
                if side * z[i] > 2 and sum(1 for v in window if side * v > 2) >= 2:
                    flagged.setdefault(i, set()).add(2)
            if i >= 4 and sigma > 0:
                window = z[i - 4 : i + 1]
                if side * z[i] > 1 and sum(1 for v in window if side * v > 1) >= 4:
                    flagged.setdefault(i, set()).add(3)
            if i >= 7:
                window_x = xs[i - 7 : i + 1]
                if all(side * (v - centre) > 0 for v in window_x):
                    flagged.setdefault(i, set()).add(4)
    return [Signal(index=i, rules=tuple(sorted(r))) for i, r in sorted(flagged.items())]


@dataclass(frozen=True)
class TestResult:
    """A two-sample comparison: the difference (b − a), its confidence interval, the p-value
    and the sample sizes. ``significant`` is ``p_value < alpha``; ``None`` p-value (too few
    cases) is never significant."""

    method: str
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_a: int
    n_b: int
    alpha: float = ALPHA
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < self.alpha


def welch_test(a: Sequence[float], b: Sequence[float], *, alpha: float = ALPHA) -> TestResult:
    """Welch's t-test of mean(b) − mean(a) (unequal variances) with the Welch–Satterthwaite
    confidence interval. Needs two points on each side."""
    from scipy import stats as sps

    xa, xb = [float(v) for v in a], [float(v) for v in b]
    if len(xa) < 2 or len(xb) < 2:
        return TestResult("welch", None, None, None, None, len(xa), len(xb), alpha)
    ma, mb = math.fsum(xa) / len(xa), math.fsum(xb) / len(xb)
    va = math.fsum((x - ma) ** 2 for x in xa) / (len(xa) - 1)
    vb = math.fsum((x - mb) ** 2 for x in xb) / (len(xb) - 1)
    se2 = va / len(xa) + vb / len(xb)
    diff = mb - ma
    if se2 == 0:
        p = 1.0 if diff == 0 else 0.0
        return TestResult("welch", diff, diff, diff, p, len(xa), len(xb), alpha)
    df = se2**2 / ((va / len(xa)) ** 2 / (len(xa) - 1) + (vb / len(xb)) ** 2 / (len(xb) - 1))
    t = diff / math.sqrt(se2)
    p = float(2 * sps.t.sf(abs(t), df))
    half = float(sps.t.ppf(1 - alpha / 2, df)) * math.sqrt(se2)
    return TestResult("welch", diff, diff - half, diff + half, p, len(xa), len(xb), alpha)


def mann_whitney_test(a: Sequence[float], b: Sequence[float], *, alpha: float = ALPHA) -> TestResult:
    """Mann–Whitney U (two-sided) for skewed measures such as time in stage; the difference
    is median(b) − median(a), without an interval."""
    from scipy import stats as sps

    xa, xb = [float(v) for v in a], [float(v) for v in b]
    if len(xa) < 2 or len(xb) < 2:
        return TestResult("mann_whitney", None, None, None, None, len(xa), len(xb), alpha)
    med_a, med_b = percentile(xa, 50), percentile(xb, 50)
    assert med_a is not None and med_b is not None
    p = float(sps.mannwhitneyu(xb, xa, alternative="two-sided").pvalue)
    return TestResult("mann_whitney", med_b - med_a, None, None, p, len(xa), len(xb), alpha)


def two_proportion_test(successes_a: int, n_a: int, successes_b: int, n_b: int, *, alpha: float = ALPHA) -> TestResult:
    """The two-proportion z-test of p_b − p_a (pooled standard error for the p-value, the
    unpooled one for the Wald interval)."""
    from scipy import stats as sps

    if n_a < 1 or n_b < 1:
        return TestResult("two_proportion", None, None, None, None, n_a, n_b, alpha)
    pa, pb = successes_a / n_a, successes_b / n_b
    diff = pb - pa
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    p = (1.0 if diff == 0 else 0.0) if se_pooled == 0 else float(2 * sps.norm.sf(abs(diff) / se_pooled))
    se = math.sqrt(pa * (1 - pa) / n_a + pb * (1 - pb) / n_b)
    zq = float(sps.norm.ppf(1 - alpha / 2))
    return TestResult("two_proportion", diff, diff - zq * se, diff + zq * se, p, n_a, n_b, alpha)


def wilson_interval(successes: int, n: int, *, alpha: float = ALPHA) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion; ``None`` when ``n`` is 0."""
    from scipy import stats as sps

    if n < 1:
        return None
    z = float(sps.norm.ppf(1 - alpha / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(values: Sequence[float], *, alpha: float = ALPHA) -> tuple[float, float] | None:
    """The t interval of a mean; ``None`` with fewer than two values."""
    from scipy import stats as sps

    xs = [float(v) for v in values]
    n = len(xs)
    if n < 2:
        return None
    m = math.fsum(xs) / n
    sd = math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (n - 1))
    half = float(sps.t.ppf(1 - alpha / 2, n - 1)) * sd / math.sqrt(n)
    return m - half, m + half
