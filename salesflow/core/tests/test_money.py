"""Money helpers: rounding to cents, weighted amounts, configured currencies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesflow.core.money import CENT, currency_choices, default_currency, quantize, weighted

amounts = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False)
cents = st.decimals(min_value=Decimal(0), max_value=Decimal("1e12"), places=2)
probabilities = st.integers(min_value=0, max_value=100)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.005", "1.01"),  # half-up, not banker's rounding
        ("2.675", "2.68"),
        ("1.004999", "1.00"),
        ("-1.005", "-1.01"),
        (7, "7.00"),
        ("0", "0.00"),
        (Decimal("123456789.125"), "123456789.13"),
    ],
)
def test_quantize_rounds_half_up_to_cents(value, expected):
    result = quantize(value)
    assert result == Decimal(expected)
    assert str(result) == expected


@pytest.mark.parametrize("value", ["abc", "", "1,000.00", None, "Infinity"])
def test_quantize_rejects_non_numbers(value):
    with pytest.raises(ValueError, match="not a decimal amount"):
        quantize(value)


@given(amounts)
def test_quantize_is_within_half_a_cent_and_idempotent(value):
    result = quantize(value)
    assert result.as_tuple().exponent == -2
    assert abs(result - value) <= Decimal("0.005")
    assert quantize(result) == result


@given(cents, probabilities)
def test_weighted_is_amount_times_probability(amount, probability):
    result = weighted(amount, probability)
    exact = amount * probability / Decimal(100)
    assert result.as_tuple().exponent == -2
    assert abs(result - exact) <= Decimal("0.005")
    assert Decimal(0) <= result <= amount


@given(cents, probabilities, probabilities)
def test_weighted_grows_with_probability(amount, p1, p2):
    low, high = sorted((p1, p2))
    assert weighted(amount, low) <= weighted(amount, high)


def test_weighted_edges():
    assert weighted(Decimal("999.99"), 0) == Decimal("0.00")
    assert weighted(Decimal("999.99"), 100) == Decimal("999.99")
    assert weighted(Decimal("0.01"), 50) == CENT  # 0.005 rounds half-up
    assert weighted(Decimal("1000000.00"), 35) == Decimal("350000.00")


def test_default_currency_and_choices_follow_settings(settings):
    settings.SALESFLOW_DEFAULT_CURRENCY = "USD"
    settings.SALESFLOW_CURRENCIES = ["CNY", "USD", "EUR"]
    assert default_currency() == "USD"
    assert currency_choices() == [("USD", "USD"), ("CNY", "CNY"), ("EUR", "EUR")]


def test_default_currency_is_cny_out_of_the_box():
    assert default_currency() == "CNY"
    assert currency_choices()[0] == ("CNY", "CNY")
    codes = [code for code, _label in currency_choices()]
    assert len(codes) == len(set(codes))
