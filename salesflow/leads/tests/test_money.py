"""Exact lead budgets with a currency: hostile input through the UI and the API writes
nothing, the lists keep working with the largest budget, conversion keeps the currency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from salesflow.core.money import MAX_AMOUNT
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_convert
from salesflow.leads.tests.factories import make_lead
from salesflow.sales.tests.test_money import HOSTILE_JSON, HOSTILE_TEXT

FORM = {
    "name": "王芳",
    "mobile": "13900001111",
    "source_channel": "outbound",
    "budget_status": "unknown",
    "authority_status": "unknown",
}


def test_budget_round_trips_with_its_currency(personas, api_for):
    api = api_for(personas.rep)
    created = api.post(
        "/leads", {"name": "a", "mobile": "13900001112", "source_channel": "inbound", "budget_amount": str(MAX_AMOUNT)}
    )
    assert created.status_code == 201, created.content
    assert created.json()["budget_amount"] == "999999999999.99"
    assert created.json()["budget_currency"] == "CNY"  # the company currency by default
    lead = Lead.objects.get()
    assert lead.budget_amount == MAX_AMOUNT
    yen = api.post(
        "/leads",
        {
            "name": "b",
            "mobile": "13900001113",
            "source_channel": "inbound",
            "budget_amount": 3000000,
            "budget_currency": "JPY",
        },
    )
    assert yen.status_code == 201, yen.content
    assert (yen.json()["budget_amount"], yen.json()["budget_currency"]) == ("3000000", "JPY")
    refused = api.patch(f"/leads/{yen.json()['id']}", {"budget_amount": "1.5"})
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"budget_amount"}


@pytest.mark.parametrize("value", HOSTILE_JSON)
def test_api_hostile_budgets_are_400_and_write_nothing(personas, api_for, value):
    api = api_for(personas.rep)
    body = {"name": "hostile", "mobile": "13900001111", "source_channel": "inbound", "budget_amount": value}
    response = api.post("/leads", body)
    assert response.status_code == 400, response.content
    assert "budget_amount" in response.json()["errors"]
    assert not Lead.objects.exists()

    lead = make_lead(owner=personas.rep, budget_amount=Decimal("7.00"))
    patched = api.patch(f"/leads/{lead.pk}", {"budget_amount": value, "name": "changed"})
    assert patched.status_code == 400
    assert "budget_amount" in patched.json()["errors"]
    qualified = api.post(f"/leads/{lead.pk}/qualify", {"budget_amount": value})
    assert qualified.status_code == 400
    assert "budget_amount" in qualified.json()["errors"]
    lead.refresh_from_db()
    assert (lead.budget_amount, lead.status) == (Decimal("7.00"), LeadStatus.NEW)
    assert lead.name != "changed"


@pytest.mark.parametrize("value", HOSTILE_TEXT)
def test_ui_hostile_budgets_are_400_and_write_nothing(personas, client_for, value):
    client = client_for(personas.rep)
    response = client.post(reverse("leads:create"), {**FORM, "budget_amount": value, "owner": personas.rep.pk})
    assert response.status_code == 400
    assert "budget_amount" in response.context["form"].errors
    assert not Lead.objects.exists()

    lead = make_lead(owner=personas.rep, budget_amount=Decimal("7.00"))
    edit = client.post(
        reverse("leads:edit", args=[lead.pk]), {**FORM, "budget_amount": value, "owner": personas.rep.pk}
    )
    assert edit.status_code == 400
    qualify = client.post(
        reverse("leads:qualify", args=[lead.pk]),
        {
            "bant-budget_status": "yes",
            "bant-budget_amount": value,
            "bant-authority_status": "yes",
            "bant-need": "CRM",
            "bant-timeline": "2030-03-01",
        },
    )
    assert qualify.status_code == 400
    lead.refresh_from_db()
    assert (lead.budget_amount, lead.status, lead.name) == (Decimal("7.00"), LeadStatus.NEW, lead.name)
    assert lead.name != FORM["name"]


def test_ui_yen_budget_refuses_decimals(personas, client_for):
    client = client_for(personas.rep)
    response = client.post(
        reverse("leads:create"),
        {**FORM, "budget_amount": "10.5", "budget_currency": "JPY", "owner": personas.rep.pk},
    )
    assert response.status_code == 400
    assert "budget_amount" in response.context["form"].errors
    ok = client.post(
        reverse("leads:create"),
        {**FORM, "budget_amount": "10", "budget_currency": "JPY", "owner": personas.rep.pk},
    )
    assert ok.status_code == 302
    assert (Lead.objects.get().budget_amount, Lead.objects.get().budget_currency) == (Decimal("10"), "JPY")


@pytest.mark.parametrize("persona", ["rep", "manager", "admin"])
def test_lead_pages_work_with_maximum_budgets(personas, client_for, api_for, persona):
    for _ in range(3):
        lead = make_lead(owner=personas.rep, budget_amount=MAX_AMOUNT)
    make_lead(owner=personas.rep, budget_amount=Decimal("1500"), budget_currency="JPY")
    client = client_for(getattr(personas, persona))
    for url in (reverse("leads:list"), reverse("leads:detail", args=[lead.pk]), reverse("leads:edit", args=[lead.pk])):
        assert client.get(url).status_code == 200, url
    detail = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "999999999999.99" in detail  # the BANT form of a new lead, prefilled exactly
    api = api_for(getattr(personas, persona))
    items = api.get("/leads").json()["items"]
    assert {i["budget_amount"] for i in items} == {"999999999999.99", "1500"}
    assert api.delete(f"/leads/{lead.pk}").status_code in (204, 403)


def test_convert_keeps_the_budget_currency(personas):
    lead = make_lead(
        owner=personas.rep,
        status=LeadStatus.QUALIFIED,
        budget_status="yes",
        authority_status="yes",
        need="CRM",
        budget_amount=Decimal("2500000"),
        budget_currency="JPY",
    )
    result = lead_convert(actor=personas.rep, lead=lead)
    assert result.opportunity is not None
    assert (result.opportunity.amount, result.opportunity.currency) == (Decimal("2500000"), "JPY")


def test_convert_refuses_hostile_amount(personas):
    from salesflow.core.errors import ValidationFailed
    from salesflow.sales.models import Opportunity

    lead = make_lead(owner=personas.rep, status=LeadStatus.QUALIFIED, budget_status="yes", authority_status="yes")
    with pytest.raises(ValidationFailed) as info:
        lead_convert(actor=personas.rep, lead=lead, amount="1e20")
    assert "amount" in info.value.field_errors
    assert not Opportunity.objects.exists()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED
