"""Plan derivation from payment terms (``billing.terms``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesflow.billing.terms import TermsError, add_months, derive_instalments

START = dt.date(2026, 1, 31)


def test_milestones_default_every_30_days():
    rows = derive_instalments("30/60/10", Decimal("100000.00"), "CNY", START)
    assert [(r.amount, r.due_date, r.label) for r in rows] == [
        (Decimal("30000.00"), START, "30%"),
        (Decimal("60000.00"), START + dt.timedelta(30), "60%"),
        (Decimal("10000.00"), START + dt.timedelta(60), "10%"),
    ]


def test_milestones_with_days_and_percent_signs_and_full_width():
    rows = derive_instalments("３０％/６０％/１０％ @ 0/60/365", Decimal("333.33"), "CNY", START)
    assert [r.amount for r in rows] == [Decimal("100.00"), Decimal("200.00"), Decimal("33.33")]
    assert [r.due_date for r in rows] == [START, START + dt.timedelta(60), START + dt.timedelta(365)]


def test_net_terms_in_english_and_chinese():
    for text in ("Net 30", "net30", "月结30天", "30天付款"):
        (row,) = derive_instalments(text, Decimal("880.00"), "CNY", START)
        assert (row.amount, row.due_date) == (Decimal("880.00"), START + dt.timedelta(30))


def test_equal_monthly_instalments_remainder_last_and_month_end_clamped():
    rows = derive_instalments("3 monthly", Decimal("100.00"), "CNY", START)
    assert [r.amount for r in rows] == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert [r.due_date for r in rows] == [dt.date(2026, 2, 28), dt.date(2026, 3, 31), dt.date(2026, 4, 30)]
    assert len(derive_instalments("分12期", Decimal("1200"), "CNY", START)) == 12


def test_jpy_has_no_decimals():
    rows = derive_instalments("3 monthly", Decimal("1000"), "JPY", START)
    assert [r.amount for r in rows] == [Decimal("333"), Decimal("333"), Decimal("334")]


def test_full_payment():
    (row,) = derive_instalments("全款", Decimal("5.00"), "CNY", START)
    assert (row.amount, row.due_date) == (Decimal("5.00"), START)


@pytest.mark.parametrize(
    "text", ["", "30/60", "0/100", "50/50 @ 0", "net 99999", "200 monthly", "pay when you like", "x" * 300, "50/50@a/b"]
)
def test_unreadable_terms_raise(text):
    with pytest.raises(TermsError):
        derive_instalments(text, Decimal("100.00"), "CNY", START)


@given(
    total=st.decimals(min_value=0, max_value=Decimal("999999999.99"), places=2),
    parts=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=6),
)
def test_milestones_always_add_up_to_the_total(total, parts):
    share = [p * 100 // sum(parts) for p in parts]
    share[-1] += 100 - sum(share)
    if any(s <= 0 for s in share):
        return
    rows = derive_instalments("/".join(map(str, share)), total, "CNY", START)
    assert sum(r.amount for r in rows) == total
    assert all(r.amount >= 0 for r in rows)


@given(total=st.decimals(min_value=0, max_value=Decimal("999999999.99"), places=2), n=st.integers(1, 120))
def test_monthly_always_add_up(total, n):
    rows = derive_instalments(f"{n} monthly", total, "CNY", START)
    assert len(rows) == n and sum(r.amount for r in rows) == total and all(r.amount >= 0 for r in rows)


def test_add_months():
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2026, 11, 15), 3) == dt.date(2027, 2, 15)
