"""Exact top-down allocation: children always sum to the parent, no share is negative."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from salesflow.core.periods import children, parse_period
from salesflow.targets.allocation import period_weights, split

amounts = st.integers(min_value=0, max_value=10**14).map(lambda n: Decimal(n).scaleb(-2))
weights = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=60)


@given(total=amounts, ws=weights)
def test_split_sums_exactly_and_never_negative(total: Decimal, ws: list[int]) -> None:
    shares = split(total, ws, 2)
    assert len(shares) == len(ws)
    assert sum(shares, Decimal(0)) == total
    assert all(s >= 0 for s in shares)
    assert all(s == s.quantize(Decimal("0.01")) for s in shares)
    if sum(ws) > 0:  # a zero weight gets nothing
        assert all(s == 0 for s, w in zip(shares, ws, strict=True) if w == 0)


@given(total=st.integers(min_value=0, max_value=10**9), ws=weights)
def test_counts_split_in_whole_units(total: int, ws: list[int]) -> None:
    shares = split(Decimal(total), ws, 0)
    assert sum(shares) == total and all(s == s.to_integral_value() and s >= 0 for s in shares)


@given(
    total=amounts,
    season=st.lists(st.integers(min_value=0, max_value=10**6), min_size=12, max_size=12),
    key=st.sampled_from(["2026", "2026-Q2", "2026-02", "2027-12"]),
)
def test_period_weights_cover_the_children(total: Decimal, season: list[int], key: str) -> None:
    period = parse_period(key)
    ws = period_weights(period, season)
    assert len(ws) == len(children(period))
    assert sum(split(total, ws, 2), Decimal(0)) == total


def test_largest_remainder_example() -> None:
    assert split(Decimal("100.00"), [1, 1, 1], 2) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert split(Decimal("10"), [0, 0], 0) == [Decimal(5), Decimal(5)]
