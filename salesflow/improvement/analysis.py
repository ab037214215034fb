"""Pure statistics of an improvement project (no database): the baseline summary, the
before/after test and the control-plan limits and signals, on values already in the
metric's display unit.

- Durations (time in stage, cycle time) are compared with the **Mann–Whitney U test**
  (two-sided; the difference shown is median after − median before), because they are
  skewed; rates (win rate, regression rate: 1/0 per case) with the **two-proportion z-test**
  (difference of the rates with its Wald interval). Welch's t-test is not used: a mean of a
  skewed duration is not what the project promises to move.
- Every result carries both sample sizes; ``TestResult.significant`` is ``p < 0.05`` and a
  result without a p-value (fewer than two cases on a side) is never significant.
- Control limits are the individuals (XmR) chart's: centre ± 2.66 · MR̄, σ̂ = MR̄ / 1.128
  (``core.stats.xmr``); a duration's lower limit is shown clipped at 0. Drift is a point
  breaking a Western Electric rule (1–4) against the stored centre and σ̂.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from salesflow.core import stats
from salesflow.process.observations import PROCESS_METRICS, Observation

SECONDS_PER_DAY = 86400.0


def is_rate(metric_key: str) -> bool:
    return PROCESS_METRICS[metric_key].unit == "rate"


def display_value(metric_key: str, raw: float) -> float:
    """An observation in the project's display unit: days for seconds, unchanged otherwise."""
    return raw / SECONDS_PER_DAY if PROCESS_METRICS[metric_key].unit == "seconds" else raw


def display_values(metric_key: str, observations: Sequence[Observation]) -> list[float]:
    return [display_value(metric_key, o.value) for o in observations]


@dataclass(frozen=True)
class Summary:
    """n, mean, P50 and P80 of a sample (for a 1/0 metric the mean is the rate and the
    percentiles are ``None``)."""

    n: int
    mean: float | None
    p50: float | None
    p80: float | None


def summarise(metric_key: str, values: Sequence[float]) -> Summary:
    if is_rate(metric_key):
        return Summary(len(values), stats.mean(values), None, None)
    ps = stats.percentiles(values, (50, 80))
    return Summary(len(values), stats.mean(values), ps[50], ps[80])


def compare(metric_key: str, before: Sequence[float], after: Sequence[float]) -> stats.TestResult:
    """The test of ``after`` against ``before`` named in the module docstring."""
    if is_rate(metric_key):
        return stats.two_proportion_test(round(sum(before)), len(before), round(sum(after)), len(after))
    return stats.mann_whitney_test(before, after)


@dataclass(frozen=True)
class Drift:
    """A point that breaks a Western Electric rule: its index in the post-change series, the
    day, the value and the rules."""

    index: int
    day: date
    value: float
    rules: tuple[int, ...]


def signals(days: Sequence[date], values: Sequence[float], centre: float, sigma: float) -> list[Drift]:
    """Every point of the series breaking a rule against the given centre and σ̂."""
    return [
        Drift(s.index, days[s.index], values[s.index], s.rules) for s in stats.western_electric(values, centre, sigma)
    ]
