"""The project statistics against independent computations (numpy, scipy, by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from salesflow.core import stats
from salesflow.improvement.analysis import compare, display_value, signals, summarise

BEFORE = [6.0, 5.5, 7.0, 6.5, 5.0, 8.0, 6.2, 5.8]
AFTER = [3.0, 2.5, 3.5, 2.8, 3.2, 2.9, 3.1, 2.7, 3.3, 3.0]


def test_duration_summary_matches_numpy() -> None:
    s = summarise("time_in_stage", BEFORE)
    assert s.n == 8
    assert s.p50 == pytest.approx(float(np.percentile(BEFORE, 50)))
    assert s.p80 == pytest.approx(float(np.percentile(BEFORE, 80)))
    assert s.mean == pytest.approx(float(np.mean(BEFORE)))
    assert display_value("time_in_stage", 86400 * 2.5) == 2.5
    assert display_value("cycle_time", 4.0) == 4.0


def test_rate_summary_is_the_share() -> None:
    s = summarise("win_rate", [1, 0, 1, 1])
    assert (s.n, s.mean, s.p50, s.p80) == (4, 0.75, None, None)


def test_durations_use_mann_whitney_as_scipy() -> None:
    result = compare("time_in_stage", BEFORE, AFTER)
    expected = sps.mannwhitneyu(AFTER, BEFORE, alternative="two-sided").pvalue
    assert result.method == "mann_whitney"
    assert result.p_value == pytest.approx(float(expected))
    assert result.significant
    assert (result.n_a, result.n_b) == (8, 10)
    assert result.difference == pytest.approx(float(np.median(AFTER) - np.median(BEFORE)))


def test_similar_samples_are_not_significant() -> None:
    result = compare("time_in_stage", [3.0, 3.2, 2.9, 3.1], [3.05, 3.15, 2.95, 3.0])
    assert result.p_value is not None and result.p_value > 0.05
    assert not result.significant


def test_one_case_after_is_never_significant() -> None:
    result = compare("time_in_stage", BEFORE, [1.0])
    assert result.p_value is None and not result.significant and result.n_b == 1


def test_rates_use_the_two_proportion_test_by_hand() -> None:
    before = [1.0] * 30 + [0.0] * 70  # 30 %
    after = [1.0] * 45 + [0.0] * 55  # 45 %
    result = compare("win_rate", before, after)
    pooled = 75 / 200
    z = 0.15 / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert result.method == "two_proportion"
    assert result.difference == pytest.approx(0.15)
    assert result.p_value == pytest.approx(2 * (1 - sps.norm.cdf(z)))
    assert result.significant


def test_control_limits_and_drift_against_numpy() -> None:
    limits = stats.xmr(AFTER)
    assert limits is not None
    mr = float(np.mean(np.abs(np.diff(AFTER))))
    assert limits.centre == pytest.approx(float(np.mean(AFTER)))
    assert limits.ucl == pytest.approx(float(np.mean(AFTER)) + 3 / 1.128 * mr)
    assert limits.sigma == pytest.approx(mr / 1.128)
    import datetime as dt

    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(12)]
    series = [*AFTER, 3.0, 12.0]
    found = signals(days, series, limits.centre, limits.sigma)
    assert [(d.index, d.day, d.value, d.rules) for d in found] == [(11, days[11], 12.0, (1,))]
