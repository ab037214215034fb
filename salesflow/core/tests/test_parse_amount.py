"""``parse_amount``: the one parser of amounts, and the money form field and filters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from salesflow.core.money import (
    MAX_AMOUNT,
    AmountError,
    MoneyFormField,
    format_amount,
    from_minor,
    minor_units,
    parse_amount,
    to_minor,
)
from salesflow.core.templatetags.salesflow import money, money_short


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


valid_cents = st.decimals(min_value=Decimal(0), max_value=MAX_AMOUNT, places=2)
valid_yen = st.integers(min_value=0, max_value=int(MAX_AMOUNT))


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("880000", "CNY", "880000.00"),
        ("880000.5", "CNY", "880000.50"),
        (" 12.30 ", None, "12.30"),
        ("1500", "JPY", "1500"),
        ("1500.00", "JPY", "1500"),  # trailing zeros are not places that matter
        (1500, "JPY", "1500"),
        (Decimal("0.01"), "USD", "0.01"),
        (12.5, "EUR", "12.50"),  # a JSON number arrives as a float: its repr is what was sent
        (999999999999.99, "CNY", "999999999999.99"),
        ("999999999999.99", "CNY", "999999999999.99"),
        ("1.5e3", "CNY", "1500.00"),
        ("-0", None, "0.00"),
        (".5", None, "0.50"),
        ("12.340", "CNY", "12.34"),
    ],
)
def test_parse_amount_accepts_exact_values(value, currency, expected):
    result = parse_amount(value, currency)
    assert str(result) == expected


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [
        ("1e20", None, "at most 999,999,999,999.99"),
        (1e20, None, "at most"),
        ("99999999999999999.99", None, "at most"),
        ("1000000000000", None, "at most"),
        (10**30, None, "at most"),
        (10**100, None, "at most"),
        ("NaN", None, "Enter a number"),
        ("nan", None, "Enter a number"),
        ("sNaN", None, "Enter a number"),
        (Decimal("NaN"), None, "Enter a number"),
        (Decimal("sNaN"), None, "Enter a number"),
        (Decimal("Infinity"), None, "Enter a number"),
        ("Infinity", None, "Enter a number"),
        ("-inf", None, "Enter a number"),
        (float("nan"), None, "Enter a number"),
        (float("inf"), None, "Enter a number"),
        ("1e999999", None, "Enter a number"),
        (Decimal("1e999999"), None, "at most"),
        (Decimal("1e-999999"), None, "decimal places"),
        ("12.345", "CNY", "at most 2 decimal places"),
        ("0.001", None, "decimal places"),
        (0.1 + 0.2, None, "decimal places"),  # 0.30000000000000004: 17 significant digits
        ("1.5", "JPY", "JPY amounts have no decimal places"),
        ("-1", None, "cannot be negative"),
        (Decimal("-0.01"), None, "cannot be negative"),
        (True, None, "Enter a number"),
        (False, None, "Enter a number"),
        (None, None, "Enter a number"),
        ([1], None, "Enter a number"),
        ("", None, "Enter a number"),
        ("1,000.00", None, "Enter a number"),
        ("1_000", None, "Enter a number"),
        ("0x10", None, "Enter a number"),
        ("１２", None, "Enter a number"),  # full-width digits are not accepted silently
        ("1" * 41, None, "at most 40 characters"),
        ("12\x00", None, "Enter a number"),
    ],
)
def test_parse_amount_refuses(value, currency, message):
    with pytest.raises(AmountError, match=message) as info:
        parse_amount(value, currency)
    assert isinstance(info.value, ValueError)


def test_negative_values_only_when_the_caller_opts_in():
    assert parse_amount("-12.5", allow_negative=True) == Decimal("-12.50")
    assert parse_amount(f"-{MAX_AMOUNT}", allow_negative=True) == -MAX_AMOUNT
    with pytest.raises(AmountError, match="at most"):
        parse_amount("-1000000000000", allow_negative=True)


def test_currency_table():
    assert minor_units("JPY") == 0
    assert minor_units("jpy") == 0
    assert [minor_units(c) for c in ("CNY", "USD", "EUR", "HKD")] == [2, 2, 2, 2]
    assert minor_units(None) == 2
    assert minor_units("XYZ") == 2


@given(valid_cents)
def test_valid_amounts_round_trip_through_text_and_storage(value):
    assert parse_amount(str(value), "CNY") == value
    assert parse_amount(format_amount(value, "CNY"), "CNY") == value
    assert from_minor(to_minor(value)) == value
    assert str(from_minor(to_minor(value))) == format_amount(value, "CNY")


@given(valid_cents)
def test_json_numbers_within_range_are_exact(value):
    # Any amount ≤ MAX_AMOUNT has ≤ 15 significant digits, which a double reproduces.
    assert parse_amount(float(value), "USD") == value


@given(valid_yen)
def test_yen_round_trip(value):
    assert parse_amount(value, "JPY") == value
    assert parse_amount(str(value), "JPY").as_tuple().exponent == 0
    assert format_amount(Decimal(value), "JPY") == str(value)


@given(st.decimals(min_value=MAX_AMOUNT + Decimal("0.01"), allow_nan=False, allow_infinity=False))
def test_above_the_maximum_is_refused(value):
    with pytest.raises(AmountError):
        parse_amount(value)
    with pytest.raises(AmountError):
        parse_amount(str(value))


@given(valid_cents.filter(lambda d: 0 < d < MAX_AMOUNT), st.integers(min_value=1, max_value=9))
def test_more_places_than_the_currency_has_are_refused(value, digit):
    with pytest.raises(AmountError, match="decimal places"):
        parse_amount(f"{value:f}{digit}", "CNY")
    if value != value.to_integral_value():
        with pytest.raises(AmountError, match="no decimal places"):
            parse_amount(value, "JPY")


@given(st.sampled_from(["NaN", "sNaN", "Infinity", "-Infinity", "inf", "nan"]), st.sampled_from(["", " "]))
def test_non_finite_values_are_refused(word, pad):
    with pytest.raises(AmountError):
        parse_amount(f"{pad}{word}{pad}")
    with pytest.raises(AmountError):
        parse_amount(Decimal(word.replace("inf", "Infinity").replace("nan", "NaN")))


@given(st.text(max_size=50))
def test_any_text_parses_or_raises_amount_error(text):
    try:
        result = parse_amount(text)
    except AmountError:
        return
    assert Decimal(0) <= result <= MAX_AMOUNT
    assert result.as_tuple().exponent == -2


def test_to_minor_refuses_sub_cent_values():
    with pytest.raises(ValueError):
        to_minor(Decimal("0.001"))
    assert to_minor(Decimal("1500")) == 150000
    assert from_minor(Decimal("10000")) == Decimal("100.00")  # a PostgreSQL SUM is numeric


def test_form_field_cleans_through_parse_amount():
    field = MoneyFormField(required=False)
    assert field.clean("12.5") == Decimal("12.50")
    assert field.clean("") is None
    for hostile in ("1e20", "NaN", "12.345", "-1", "1e999999"):
        with pytest.raises(Exception, match=r"number|at most|places|negative"):
            field.clean(hostile)
    assert field.prepare_value(Decimal("1500.00")) == "1500.00"


def test_money_filters_use_the_currency_places():
    assert money(Decimal("1234567.5"), "CNY") == "¥1,234,567.50"
    assert money(Decimal("1500"), "JPY") == "JP¥1,500"
    assert money(MAX_AMOUNT, "USD") == "$999,999,999,999.99"
    assert money_short(Decimal("1234567.5"), "CNY") == "¥1,234,568"
