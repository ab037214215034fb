"""Exact deal amounts: storage, SQL sums, hostile input through the UI and the API, and
list pages that keep working with the largest amounts (run on SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.urls import reverse

from salesflow.core.money import MAX_AMOUNT
from salesflow.sales.models import Opportunity
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
