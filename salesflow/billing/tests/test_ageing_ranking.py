"""The ageing report's top rows are ranked in SQL on an approximate total and proved exact: it
must agree with a plain Python loop over the open instalments for every group, reader, limit
and candidate margin (ties, a currency without a rate, rounding that reorders rows)."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesflow.billing import selectors
from salesflow.billing.models import Instalment
from salesflow.billing.permissions import money_scope_q
from salesflow.billing.selectors import BUCKETS, ageing_report
from salesflow.billing.services import InstalmentInput, payment_record, plan_create
from salesflow.billing.status import bucket_of
from salesflow.billing.tests.factories import make_contract
from salesflow.core.models import ExchangeRate
from salesflow.core.money import company_currency
from salesflow.core.selectors import apply_rate, rates_on
from salesflow.parties.tests.factories import make_account
from salesflow.users.models import User

D = Decimal
TODAY = dt.date(2026, 12, 3)
LATE = (-20, 0, 10, 45, 75, 120)  # days past due: every bucket, both edges of "current"
MARGINS = (0, 1, 50)  # 0 and 1 force the widening tries, 50 is the real margin


def _plan(owner: User, account: Any, currency: str, rows: list[tuple[str, int]]) -> Any:
    contract = make_contract(owner, account, currency=currency, total=D("9999999.00"))
    plan_create(
        actor=owner,
        kind="contract",
        document_id=contract.pk,
        instalments=[InstalmentInput(amount, TODAY - dt.timedelta(days=late)) for amount, late in rows],
    )
    return contract


def _reference(user: User, group: str, limit: int) -> dict[str, Any]:
    """The report as a plain loop: sum each (key, currency, bucket), convert each cell once."""
    home = company_currency()
    rates = rates_on(None, TODAY)
    scope = money_scope_q(user)
    qs = Instalment.objects.filter(is_open=True).select_related("owner")
    if scope is not None:
        qs = qs.filter(scope)
    cells: dict[Any, dict[str, dict[str, Decimal]]] = {}
    for inst in qs:
        key = {"customer": inst.account_id, "rep": inst.owner_id, "team": inst.owner.team_id}[group]
        per = cells.setdefault(key, {}).setdefault(inst.currency, dict.fromkeys(BUCKETS, D(0)))
        per[bucket_of(inst.due_date, TODAY)] += inst.amount - inst.paid

    def convert(by_code: dict[str, dict[str, Decimal]]) -> dict[str, Decimal]:
        out = dict.fromkeys(BUCKETS, D("0.00"))
        for code, per in by_code.items():
            if code == home or code in rates:
                for bucket, value in per.items():
                    if value:
                        out[bucket] += apply_rate(value, rates.get(code))
        return out

    rows = [(key, convert(by_code)) for key, by_code in cells.items()]
    rows.sort(key=lambda r: (-sum(r[1].values()), r[0] or 0))
    shown, rest = rows[:limit], rows[limit:]
    out: dict[str, Any] = {
        "rows": [(key, buckets, sum(buckets.values())) for key, buckets in shown],
        "row_count": len(rows),
        "unconverted": dict(
            Counter(code for by_code in cells.values() for code in by_code if code != home and code not in rates)
        ),
        "others": None,
    }
    if rest:
        merged: dict[str, dict[str, Decimal]] = {}
        for key, _buckets in rest:
            for code, per in cells[key].items():
                into = merged.setdefault(code, dict.fromkeys(BUCKETS, D(0)))
                for bucket, value in per.items():
                    into[bucket] += value
        out["others"] = convert(merged)
    return out


def _check(user: User, group: str, limit: int) -> None:
    expected = _reference(user, group, limit)
    with CaptureQueriesContext(connection) as ctx:
        report = ageing_report(user, group=group, today=TODAY, limit=limit)
    assert len(ctx.captured_queries) <= 7
    plain = [r for r in report.rows if not r.others]
    assert [(r.key, r.buckets, r.total) for r in plain] == expected["rows"], (group, limit)
    others = [r for r in report.rows if r.others]
    if expected["others"] is None:
        assert others == []
    else:
        (row,) = others
        assert row.buckets == expected["others"] and row.total == sum(row.buckets.values())
        assert row.label == f"{expected['row_count'] - limit} more"
    assert report.row_count == expected["row_count"]
    assert report.unconverted == expected["unconverted"]
    assert report.totals == {b: sum((r.buckets[b] for r in report.rows), D(0)) for b in BUCKETS}
    assert report.total == sum(r.total for r in report.rows) == sum(report.totals.values())


def _random_book(personas: Any, seed: int, accounts: int) -> None:
    """Accounts of four reps in two teams; CNY, USD (rate), JPY (rate, no cents) and EUR (no
    rate); some tied on total; some partly paid."""
    rng = random.Random(seed)
    owners = [personas.rep, personas.teammate, personas.outsider, personas.manager]
    for n in range(accounts):
        owner = owners[n % len(owners)]
        account = make_account(owner, name=f"客户 {seed}-{n}")
        if n % 5 == 4:  # a tie with the previous account, on every cell
            _plan(owner, account, "CNY", [("1000.00", 10), ("250.50", 120)])
            continue
        for currency in rng.sample(["CNY", "CNY", "USD", "JPY", "EUR"], k=rng.randint(1, 3)):
            places = 0 if currency == "JPY" else 2
            rows = [
                (f"{D(rng.randint(1, 500_000)).scaleb(-places):f}", rng.choice(LATE)) for _i in range(rng.randint(1, 3))
            ]
            contract = _plan(owner, account, currency, rows)
            if rng.random() < 0.3:
                payment_record(actor=owner, kind="contract", document_id=contract.pk, amount="1", received_on=TODAY)


@pytest.fixture
def rates(db: None) -> None:
    ExchangeRate.objects.create(currency="USD", rate=D("7.12345678"), valid_from=dt.date(2026, 1, 1))
    ExchangeRate.objects.create(currency="USD", rate=D("9"), valid_from=TODAY + dt.timedelta(days=1))  # not yet
    ExchangeRate.objects.create(currency="JPY", rate=D("0.04876543"), valid_from=dt.date(2026, 6, 1))


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2])
def test_top_rows_agree_with_a_plain_loop(personas, rates, monkeypatch, seed):
    _random_book(personas, seed, accounts=11)
    for margin in MARGINS:
        monkeypatch.setattr(selectors, "AGEING_MARGIN", margin)
        for user in (personas.admin, personas.manager, personas.rep):
            keys = _reference(user, "customer", 0)["row_count"]
            for limit in sorted({0, 1, 3, keys - 1, keys, keys + 1} - {-1}):
                _check(user, "customer", limit)
            for group in ("rep", "team"):
                for limit in (0, 1, 2, 5):
                    _check(user, group, limit)


@pytest.mark.django_db
def test_ties_at_the_boundary_widen_and_stay_exact(personas, monkeypatch):
    # nine accounts with the same total: the limit cuts through the tie, ordered by key
    for n in range(9):
        _plan(personas.rep, make_account(personas.rep, name=f"同额 {n}"), "CNY", [("100.00", 10)])
    _plan(personas.rep, make_account(personas.rep, name="最大"), "CNY", [("100.01", 10)])
    monkeypatch.setattr(selectors, "AGEING_MARGIN", 0)
    for limit in (1, 2, 4, 9, 10, 11):
        _check(personas.admin, "customer", limit)
    report = ageing_report(personas.admin, today=TODAY, limit=4)
    ids = sorted(Instalment.objects.filter(amount=D("100.00")).values_list("account_id", flat=True))
    assert [r.label for r in report.rows] == ["最大", "同额 0", "同额 1", "同额 2", "6 more"]
    assert [r.key for r in report.rows[1:4]] == ids[:3]
    assert report.rows[-1].total == D("600.00") and report.total == D("1000.01")


@pytest.mark.django_db
def test_rounding_that_reorders_rows_is_caught(personas, monkeypatch):
    """USD 0.05 × 7.1 = 0.355 rounds to 0.36 in each of five buckets: 1.80 exact, 1.775 by the
    approximate total — below a CNY 1.78 account, which the approximate ranking puts first."""
    ExchangeRate.objects.create(currency="USD", rate=D("7.1"), valid_from=dt.date(2026, 1, 1))
    usd = make_account(personas.rep, name="美元客户")
    _plan(personas.rep, usd, "USD", [("0.05", late) for late in (0, 10, 45, 75, 120)])
    cny = make_account(personas.rep, name="人民币客户")
    _plan(personas.rep, cny, "CNY", [("1.78", 10)])
    monkeypatch.setattr(selectors, "AGEING_MARGIN", 0)
    report = ageing_report(personas.admin, today=TODAY, limit=1)
    assert [(r.label, r.total) for r in report.rows] == [("美元客户", D("1.80")), ("1 more", D("1.78"))]
    assert report.rates["USD"].rate == D("7.1")
    _check(personas.admin, "customer", 1)


@pytest.mark.django_db
def test_a_currency_without_a_rate_is_counted_not_guessed(personas, rates):
    only_eur = make_account(personas.rep, name="欧元客户")
    _plan(personas.rep, only_eur, "EUR", [("900000.00", 10)])
    both = make_account(personas.rep, name="两种货币")
    _plan(personas.rep, both, "EUR", [("5.00", 10)])
    _plan(personas.rep, both, "CNY", [("10.00", 10)])
    report = ageing_report(personas.admin, today=TODAY, limit=1)
    assert [(r.label, r.total, r.unconverted) for r in report.rows] == [
        ("两种货币", D("10.00"), {"EUR": 1}),
        ("1 more", D("0.00"), {}),
    ]
    assert report.unconverted == {"EUR": 2} and report.row_count == 2 and report.rates == {}
    _check(personas.admin, "customer", 1)
    _check(personas.admin, "customer", 2)
