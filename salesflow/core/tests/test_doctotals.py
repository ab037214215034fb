"""Property tests of the one totals function (``core.doctotals``): every column adds up
exactly, each line rounds half-up at each step, the rule agrees with ``money.quantize``,
tax-inclusive and tax-exclusive prices keep their invariants, and a total too large for a
money column is refused instead of overflowing."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesflow.core.doctotals import LineInput, TotalTooLarge, document_totals, line_totals
from salesflow.core.money import MAX_AMOUNT, quantize

CENT = Decimal("0.01")

quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100000"), places=3)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("1000000"), places=2)
percents = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2)
lines = st.builds(LineInput, quantity=quantities, unit_price=prices, discount_percent=percents, tax_rate=percents)
documents = st.lists(lines, min_size=0, max_size=12)


@settings(max_examples=300, deadline=None)
@given(documents, st.booleans())
def test_columns_add_up_exactly(items: list[LineInput], inclusive: bool) -> None:
    doc = document_totals(items, "CNY", prices_include_tax=inclusive)
    assert doc.subtotal == sum((row.gross for row in doc.lines), Decimal("0.00"))
    assert doc.discount == sum((row.discount for row in doc.lines), Decimal("0.00"))
    assert doc.net == sum((row.net for row in doc.lines), Decimal("0.00"))
    assert doc.tax == sum((row.tax for row in doc.lines), Decimal("0.00"))
    assert doc.total == sum((row.total for row in doc.lines), Decimal("0.00"))
    assert doc.net == doc.subtotal - doc.discount
    if inclusive:
        assert doc.total == doc.net
    else:
        assert doc.total == doc.net + doc.tax
    for figure in (doc.subtotal, doc.discount, doc.net, doc.tax, doc.total):
        assert figure.as_tuple().exponent == -2  # always cents, never more places


@settings(max_examples=300, deadline=None)
@given(lines)
def test_each_line_rounds_half_up_at_each_step_like_money_quantize(line: LineInput) -> None:
    result = line_totals(line, "CNY")
    gross = quantize(line.quantity * line.unit_price)
    discount = quantize(gross * line.discount_percent / 100)
    tax = quantize((gross - discount) * line.tax_rate / 100)
    assert (result.gross, result.discount, result.net, result.tax, result.total) == (
        gross,
        discount,
        gross - discount,
        tax,
        gross - discount + tax,
    )
    assert Decimal(0) <= result.discount <= result.gross


@settings(max_examples=300, deadline=None)
@given(lines)
def test_inclusive_prices_hold_the_tax_inside_the_total(line: LineInput) -> None:
    inc = line_totals(line, "CNY", prices_include_tax=True)
    exc = line_totals(line, "CNY", prices_include_tax=False)
    # the same gross, discount and net; inclusive: the total is the net and the tax is inside it
    assert (inc.gross, inc.discount, inc.net) == (exc.gross, exc.discount, exc.net)
    assert inc.total == inc.net and Decimal(0) <= inc.tax <= inc.total
    assert inc.tax == inc.total - quantize(inc.total / (1 + line.tax_rate / 100))
    assert exc.total >= inc.total
    if line.tax_rate == 0:
        assert inc.tax == exc.tax == 0 and inc.total == exc.total


def test_half_up_at_the_half_cent() -> None:
    # 0.005 rounds up (half-up, the fapiao rule), not to even
    result = line_totals(LineInput(Decimal("1"), Decimal("0.05"), Decimal("10"), Decimal("0")), "CNY")
    assert result.discount == Decimal("0.01")
    result = line_totals(LineInput(Decimal("0.5"), Decimal("0.01"), Decimal("0"), Decimal("0")), "CNY")
    assert result.gross == Decimal("0.01")
    assert Decimal("0.125").quantize(CENT, rounding=ROUND_HALF_UP) == quantize(Decimal("0.125"))


def test_zero_decimal_currency_rounds_to_whole_units() -> None:
    result = line_totals(LineInput(Decimal("3"), Decimal("333"), Decimal("10"), Decimal("10")), "JPY")
    assert (result.gross, result.discount, result.net, result.tax, result.total) == (
        Decimal("999"),
        Decimal("100"),
        Decimal("899"),
        Decimal("90"),
        Decimal("989"),
    )


def test_empty_document_totals_zero() -> None:
    doc = document_totals([], "CNY")
    assert (doc.subtotal, doc.total, doc.lines) == (Decimal("0.00"), Decimal("0.00"), ())


@settings(max_examples=100, deadline=None)
@given(st.decimals(min_value=Decimal("1"), max_value=Decimal("999999999.999"), places=3))
def test_too_large_raises_instead_of_overflowing(quantity: Decimal) -> None:
    line = LineInput(quantity, MAX_AMOUNT, Decimal("0"), Decimal("13"))
    with pytest.raises(TotalTooLarge):
        line_totals(line, "CNY")


def test_document_sum_above_the_maximum_raises() -> None:
    half = LineInput(Decimal("1"), Decimal("600000000000.00"))
    line_totals(half, "CNY")  # one line fits
    with pytest.raises(TotalTooLarge):
        document_totals([half, half], "CNY")
