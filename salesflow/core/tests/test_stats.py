"""core.stats against independent computations (numpy, scipy, hand-worked examples)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from salesflow.core import stats

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=1, max_size=60), st.floats(min_value=0, max_value=100))
def test_percentile_matches_numpy(values, q):
    assert stats.percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-9, abs=1e-6)


def test_percentile_hand_worked_and_edges():
    assert stats.percentile([1, 2, 3, 4], 50) == 2.5
    assert stats.percentile([10, 20, 30, 40, 50], 80) == 42.0  # h = 3.2 → 40 + 0.2 × 10
    assert stats.percentile([], 50) is None
    with pytest.raises(ValueError):
        stats.percentile([1], 101)


def test_xmr_limits_against_numpy():
    xs = [12.0, 15.0, 11.0, 14.0, 30.0, 13.0, 12.0, 16.0]
    limits = stats.xmr(xs)
    assert limits is not None
    mr_bar = float(np.mean(np.abs(np.diff(xs))))
    assert limits.centre == pytest.approx(float(np.mean(xs)))
    assert limits.mr_bar == pytest.approx(mr_bar)
    assert (
        limits.ucl
        == pytest.approx(np.mean(xs) + 3 / 1.128 * mr_bar)
        == pytest.approx(np.mean(xs) + 2.66 * mr_bar, abs=0.01)
    )
    assert limits.lcl == pytest.approx(np.mean(xs) - 3 / 1.128 * mr_bar)
    assert limits.sigma == pytest.approx(mr_bar / 1.128)
    assert stats.xmr([5.0]) is None


def test_western_electric_rules():
    # rule 1: one point beyond 3σ
    assert stats.western_electric([0, 0, 4, 0], 0, 1) == [stats.Signal(2, (1,))]
    # rule 2: two of three beyond 2σ on one side (the second completes it)
    assert [s.index for s in stats.western_electric([2.5, 0, 2.5], 0, 1)] == [2]
    assert stats.western_electric([2.5, 0, -2.5], 0, 1) == []
    # rule 3: four of five beyond 1σ
    signals = stats.western_electric([1.5, 1.5, 0, 1.5, 1.5], 0, 1)
    assert signals == [stats.Signal(4, (3,))]
    # rule 4: eight on one side
    eight = [0.1] * 8
    assert stats.western_electric(eight, 0, 1) == [stats.Signal(7, (4,))]
    assert stats.western_electric([0.1] * 7 + [-0.1], 0, 1) == []
    # zero sigma: only the run rule
    assert stats.western_electric([1] * 8, 0, 0) == [stats.Signal(7, (4,))]


def test_welch_matches_scipy():
    a = [3.1, 2.9, 3.5, 4.0, 3.3, 2.8]
    b = [4.1, 4.5, 3.9, 5.2, 4.8]
    r = stats.welch_test(a, b)
    ref = sps.ttest_ind(b, a, equal_var=False)
    assert r.p_value == pytest.approx(float(ref.pvalue))
    assert r.difference == pytest.approx(np.mean(b) - np.mean(a))
    assert r.ci_low is not None and r.ci_high is not None and r.difference is not None
    assert r.ci_low < r.difference < r.ci_high
    assert r.significant and (r.n_a, r.n_b) == (6, 5)
    assert not stats.welch_test([1.0], b).significant


def test_two_proportions_and_wilson():
    r = stats.two_proportion_test(30, 100, 45, 100)
    # hand-computed: pooled 0.375, se = sqrt(.375 × .625 × .02) = 0.068465, z = 2.1909
    assert r.p_value == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(2.19089 / math.sqrt(2)))), rel=1e-3)
    assert r.difference == pytest.approx(0.15)
    low, high = stats.wilson_interval(8, 10) or (0, 0)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    assert stats.wilson_interval(0, 0) is None
    lo, hi = stats.mean_interval([1, 2, 3, 4]) or (0, 0)
    assert lo == pytest.approx(2.5 - 3.182446 * np.std([1, 2, 3, 4], ddof=1) / 2, rel=1e-5)
    assert hi > 2.5


def test_mann_whitney_matches_scipy():
    a, b = [5, 7, 9, 11, 30], [12, 15, 18, 22, 40, 41]
    r = stats.mann_whitney_test(a, b)
    assert r.p_value == pytest.approx(float(sps.mannwhitneyu(b, a, alternative="two-sided").pvalue))
    assert r.difference == 20 - 9
