"""Exact deal amounts: storage, SQL sums, hostile input through the UI and the API, and
list pages that keep working with the largest amounts (run on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesflow.core.money import MAX_AMOUNT
from salesflow.core.services import exchange_rate_create
from salesflow.sales.models import Opportunity
from salesflow.sales.selectors import board
from salesflow.sales.services import default_pipeline, first_open_stage
from salesflow.sales.tests.factories import make_account, make_opportunity, stage

HOSTILE_TEXT = [
    "1e20",
    "99999999999999999.99",
    "1000000000000",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "1e999999",
    "12.345",
    "-1",
    "abc",
    "0x10",
    "1" * 60,
]
HOSTILE_JSON = [*HOSTILE_TEXT, 1e20, 1e308, 10**30, -5, 12.345, True, [1], {"a": 1}]


def raw_amount(opp: Opportunity) -> object:
    """The stored column value, read without the field's conversion."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT amount FROM {Opportunity._meta.db_table} WHERE id = %s", [opp.pk])
        return cursor.fetchone()[0]


def test_maximum_amount_round_trips_exactly(personas):
    opp = make_opportunity(personas.rep, amount=str(MAX_AMOUNT))
    fresh = Opportunity.objects.get(pk=opp.pk)
    assert fresh.amount == MAX_AMOUNT
    assert str(fresh.amount) == "999999999999.99"
    assert raw_amount(opp) == 99999999999999  # integer hundredths on both databases
    # The value that SQLite used to read back as …234.60:
    exact = make_opportunity(personas.rep, amount="123456789012.34")
    assert Opportunity.objects.get(pk=exact.pk).amount == Decimal("123456789012.34")


def test_filters_and_ordering_use_amounts(personas):
    small = make_opportunity(personas.rep, amount="0.01")
    big = make_opportunity(personas.rep, amount=str(MAX_AMOUNT))
    assert list(Opportunity.objects.filter(amount__gte=Decimal("0.02")).values_list("pk", flat=True)) == [big.pk]
    assert list(Opportunity.objects.filter(amount=Decimal("0.01")).values_list("pk", flat=True)) == [small.pk]
    assert list(Opportunity.objects.order_by("-amount").values_list("pk", flat=True)) == [big.pk, small.pk]


def test_sum_of_many_small_amounts_is_exact(personas):
    account = make_account(personas.rep)
    pipeline = default_pipeline()
    first = first_open_stage(pipeline)
    Opportunity.objects.bulk_create(
        [
            Opportunity(
                name=f"d{i}",
                account=account,
                owner=personas.rep,
                pipeline=pipeline,
                stage=first,
                amount=Decimal("0.01"),
                probability=first.probability,
            )
            for i in range(10_000)
        ],
        batch_size=1000,
    )
    total = Opportunity.objects.aggregate(total=Sum("amount"))["total"]
    assert total == Decimal("100.00")
    assert isinstance(total, Decimal)
    assert str(total) == "100.00"


def test_sum_of_maximum_amounts_is_exact(personas):
    account = make_account(personas.rep)
    for _ in range(20):
        make_opportunity(personas.rep, account=account, amount=str(MAX_AMOUNT))
    make_opportunity(personas.rep, account=account, amount="0.01")
    total = Opportunity.objects.aggregate(total=Sum("amount"))["total"]
    assert total == MAX_AMOUNT * 20 + Decimal("0.01")


def test_yen_amounts_have_no_decimals(personas, api_for):
    api = api_for(personas.rep)
    account = make_account(personas.rep)
    response = api.post("/opportunities", {"name": "円", "account_id": account.pk, "amount": "1500", "currency": "JPY"})
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "1500"
    refused = api.post("/opportunities", {"name": "円2", "account_id": account.pk, "amount": "1.5", "currency": "JPY"})
    assert refused.status_code == 400
    assert "amount" in refused.json()["errors"]
    assert not Opportunity.objects.filter(name="円2").exists()
    # Switching a deal with cents to JPY re-checks the stored amount.
    opp = make_opportunity(personas.rep, account=account, amount="10.50")
    switched = api.patch(f"/opportunities/{opp.pk}", {"currency": "JPY"})
    assert switched.status_code == 400
    assert set(switched.json()["errors"]) == {"amount"}
    opp.refresh_from_db()
    assert (opp.currency, opp.amount) == ("CNY", Decimal("10.50"))


def test_api_money_is_a_decimal_string(personas, api_for):
    api = api_for(personas.rep)
    account = make_account(personas.rep)
    created = api.post("/opportunities", {"name": "n", "account_id": account.pk, "amount": 880000})
    assert created.status_code == 201, created.content
    assert created.json()["amount"] == "880000.00"
    as_number = api.post("/opportunities", {"name": "m", "account_id": account.pk, "amount": 1234.5})
    assert as_number.json()["amount"] == "1234.50"
    as_max = api.post("/opportunities", {"name": "x", "account_id": account.pk, "amount": float(MAX_AMOUNT)})
    assert as_max.json()["amount"] == "999999999999.99"
    listing = api.get("/opportunities").json()["items"]
    assert {item["amount"] for item in listing} == {"880000.00", "1234.50", "999999999999.99"}


@pytest.mark.parametrize("value", HOSTILE_JSON)
def test_api_hostile_amounts_are_400_and_write_nothing(personas, api_for, value):
    api = api_for(personas.rep)
    account = make_account(personas.rep)
    response = api.post("/opportunities", {"name": "hostile", "account_id": account.pk, "amount": value})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert "amount" in body["errors"]
    assert not Opportunity.objects.filter(name="hostile").exists()

    opp = make_opportunity(personas.rep, account=account, amount="5.00")
    before = opp.updated_at
    patched = api.patch(f"/opportunities/{opp.pk}", {"amount": value, "name": "changed"})
    assert patched.status_code == 400
    assert "amount" in patched.json()["errors"]
    opp.refresh_from_db()
    assert opp.amount == Decimal("5.00")
    assert opp.name != "changed"
    assert opp.updated_at == before


@pytest.mark.parametrize("value", HOSTILE_TEXT)
def test_ui_hostile_amounts_are_400_and_write_nothing(personas, client_for, value):
    account = make_account(personas.rep)
    client = client_for(personas.rep)
    response = client.post(
        reverse("opportunities:create"),
        {
            "account": account.pk,
            "name": "hostile",
            "stage": stage("prospect").pk,
            "amount": value,
            "currency": "CNY",
            "owner": personas.rep.pk,
        },
    )
    assert response.status_code == 400
    assert "amount" in response.context["form"].errors
    assert not Opportunity.objects.filter(name="hostile").exists()

    opp = make_opportunity(personas.rep, account=account, amount="5.00")
    edit = client.post(
        reverse("opportunities:edit", args=[opp.pk]),
        {
            "name": "changed",
            "amount": value,
            "currency": "CNY",
            "probability": 10,
            "forecast_category": "pipeline",
            "owner": personas.rep.pk,
        },
    )
    assert edit.status_code == 400
    assert "amount" in edit.context["form"].errors
    opp.refresh_from_db()
    assert opp.amount == Decimal("5.00")
    assert opp.name != "changed"


def test_ui_yen_decimals_refused_under_the_field(personas, client_for):
    account = make_account(personas.rep)
    response = client_for(personas.rep).post(
        reverse("opportunities:create"),
        {
            "account": account.pk,
            "name": "円",
            "stage": stage("prospect").pk,
            "amount": "1.5",
            "currency": "JPY",
            "owner": personas.rep.pk,
        },
    )
    assert response.status_code == 400
    assert "amount" in response.context["form"].errors
    assert not Opportunity.objects.exists()


@pytest.mark.parametrize("persona", ["rep", "manager", "admin"])
def test_pages_and_api_work_with_maximum_amounts(personas, client_for, api_for, persona):
    for _ in range(3):
        opp = make_opportunity(personas.rep, amount=str(MAX_AMOUNT))
    make_opportunity(personas.rep, amount="1500", currency="JPY")
    user = getattr(personas, persona)
    client = client_for(user)
    for url in (
        reverse("opportunities:list"),
        reverse("opportunities:list") + "?sort=-amount",
        reverse("opportunities:board"),
        reverse("opportunities:detail", args=[opp.pk]),
        reverse("opportunities:edit", args=[opp.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    listing = client.get(reverse("opportunities:list")).content.decode()
    assert "¥999,999,999,999.99" in listing
    assert "JP¥1,500<" in listing
    api = api_for(user)
    assert api.get("/opportunities", sort="-amount").status_code == 200
    assert api.get(f"/opportunities/{opp.pk}").json()["amount"] == "999999999999.99"
    # and the record can still be deleted
    assert api.delete(f"/opportunities/{opp.pk}").status_code in (204, 403)


def test_openapi_documents_money_as_decimal_string(personas, api_for):
    doc = api_for(personas.rep).get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    out = schemas["OpportunityOut"]["properties"]["amount"]
    assert out["type"] == "string"
    assert out["format"] == "decimal"
    assert "pattern" in out
    created = schemas["OpportunityCreateIn"]["properties"]["amount"]
    assert {"type": "string", "format": "decimal"}.items() <= created["anyOf"][0].items()


# --------------------------------------------------------------------- board in company currency


def _rate(personas, currency: str, rate: str, day: date) -> None:
    exchange_rate_create(actor=personas.admin, currency=currency, rate=rate, valid_from=day)


def test_board_totals_convert_with_the_rate_of_the_day(personas, client_for):
    today = timezone.localdate()
    _rate(personas, "USD", "7.00", today - timedelta(days=30))
    _rate(personas, "USD", "7.10", today)  # the rate of the day wins
    _rate(personas, "USD", "9.99", today + timedelta(days=1))  # not yet valid
    _rate(personas, "EUR", "7.80", today - timedelta(days=3))
    make_opportunity(personas.rep, amount="1000.00", stage_code="prospect")  # 10 %
    make_opportunity(personas.rep, amount="100.00", currency="USD", stage_code="prospect")  # 710.00
    make_opportunity(personas.rep, amount="0.01", currency="EUR", stage_code="prospect")  # 0.078 → 0.08
    make_opportunity(personas.rep, amount="5000", currency="JPY", stage_code="prospect")  # no rate
    make_opportunity(personas.rep, amount="20.00", stage_code="demo")
    b = board(personas.rep, pipeline=default_pipeline())
    cols = {c.stage.code: c for c in b.columns}
    prospect = cols["prospect"]
    assert prospect.count == 4
    assert prospect.amount == Decimal("1710.08")  # 1000 + 710 + 0.078, rounded once
    assert prospect.weighted == Decimal("171.01")  # 171.0078 → 171.01
    assert {c: (r.rate, r.valid_from) for c, r in prospect.rates.items()} == {
        "USD": (Decimal("7.1"), today),
        "EUR": (Decimal("7.8"), today - timedelta(days=3)),
    }
    assert prospect.unconverted == {"JPY": 1}
    assert (cols["demo"].amount, cols["demo"].rates, cols["demo"].unconverted) == (Decimal("20.00"), {}, {})
    assert b.amount == Decimal("1730.08")
    assert [r.currency for r in b.rates_used] == ["EUR", "USD"]
    assert b.unconverted_currencies == ["JPY"]

    html = client_for(personas.rep).get(reverse("opportunities:board")).content.decode()
    assert 'data-testid="board-rates"' in html
    assert "USD 7.1<" in html and "EUR 7.8<" in html
    assert 'data-testid="column-rates-prospect"' in html
    assert 'data-testid="column-unconverted-prospect"' in html
    assert "+1 in JPY, not included: no exchange rate" in html
    assert "1 deal in JPY is counted but not included in the CNY totals" in html
    zh = client_for(personas.rep, "zh-hans").get(reverse("opportunities:board")).content.decode()
    assert "合计以 CNY 计，按当日汇率折算" in zh
    assert "另有 1 个 JPY 商机未计入：没有汇率" in zh


def test_board_without_foreign_deals_shows_no_rates(personas, client_for):
    make_opportunity(personas.rep, amount="10.00")
    html = client_for(personas.rep).get(reverse("opportunities:board")).content.decode()
    assert "board-rates" not in html
    assert "board-other-currency" not in html


@pytest.mark.parametrize("persona", ["rep", "manager", "admin"])
def test_board_query_count_is_constant_with_currencies(personas, client_for, persona):
    _rate(personas, "USD", "7.10", timezone.localdate())
    client = client_for(getattr(personas, persona))
    make_opportunity(personas.rep, amount="1.00", currency="USD")
    url = reverse("opportunities:board")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    baseline = len(ctx.captured_queries)
    for i, code in enumerate(["USD", "EUR", "JPY", "HKD", "CNY"] * 4):
        make_opportunity(personas.rep, amount="999999999999" if i % 3 == 0 else "5", currency=code)
    _rate(personas, "EUR", "7.8", timezone.localdate())
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    assert len(ctx.captured_queries) <= baseline


def test_board_conversion_of_maximum_amounts_is_exact(personas):
    from decimal import ROUND_HALF_UP, localcontext

    _rate(personas, "USD", "7.12345678", timezone.localdate())
    account = make_account(personas.rep)
    for _ in range(15):
        make_opportunity(personas.rep, account=account, amount=str(MAX_AMOUNT), currency="USD", stage_code="demo")
    make_opportunity(personas.rep, account=account, amount="0.01", stage_code="demo")
    column = {c.stage.code: c for c in board(personas.rep, pipeline=default_pipeline()).columns}["demo"]
    with localcontext() as ctx:
        ctx.prec = 100
        exact = MAX_AMOUNT * 15 * Decimal("7.12345678") + Decimal("0.01")
        probability = column.stage.probability
        weighted = exact * probability / 100
    assert column.amount == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert column.weighted == weighted.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=st.decimals(min_value=Decimal(0), max_value=MAX_AMOUNT, places=2))
def test_any_valid_amount_round_trips_through_the_database(personas, amount):
    opp = make_opportunity(personas.rep, amount=amount)
    assert Opportunity.objects.get(pk=opp.pk).amount == amount
    assert Opportunity.objects.filter(pk=opp.pk, amount=amount).exists()


def test_board_sums_cannot_overflow_64_bits(personas, client_for):
    """Three rows whose hundredths add up beyond 2⁶³ (as ~92,000 deals at the maximum would):
    SQLite's integer SUM would raise; the board's split sum stays exact."""
    account = make_account(personas.rep)
    opps = [make_opportunity(personas.rep, account=account, stage_code="demo") for _ in range(3)]
    huge = 4 * 10**18  # hundredths per row, written below the application to simulate the volume
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Opportunity._meta.db_table} SET amount = %s WHERE id IN (%s, %s, %s)",
            [huge, *(o.pk for o in opps)],
        )
    column = {c.stage.code: c for c in board(personas.rep, pipeline=default_pipeline()).columns}["demo"]
    assert column.amount == Decimal(3 * huge).scaleb(-2)
    assert client_for(personas.manager).get(reverse("opportunities:board")).status_code == 200
