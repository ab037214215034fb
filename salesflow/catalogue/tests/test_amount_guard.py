"""A deal with product lines refuses a hand-typed amount (issue 9 review, 2c): the service,
the edit page and the API answer a 400 naming ``amount`` and change nothing; the lines and
deals without lines still set the amount (an accepted quote too: quotes/tests/test_deal_amount.py). The hook is
``sales.services.register_amount_guard`` (registered by ``CatalogueConfig.ready``)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesflow.catalogue.services import (
    opportunity_line_add,
    opportunity_line_remove,
    refuse_hand_entered_amount,
)
from salesflow.catalogue.tests.factories import make_product
from salesflow.core.errors import ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.sales import services as sales_services
from salesflow.sales.models import Opportunity, OpportunityFieldChange
from salesflow.sales.services import opportunity_update
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(personas: Personas) -> Opportunity:
    return make_opportunity(personas.rep, amount="5000")


@pytest.fixture
def lined(personas: Personas, deal: Opportunity) -> Opportunity:
    product = make_product(list_price=Decimal("1000.00"), tax_rate=Decimal("13.00"))
    opportunity_line_add(actor=personas.rep, opportunity=deal, product_id=product.pk, quantity="2")
    deal.refresh_from_db()
    assert deal.amount == Decimal("2260.00")  # 2 × 1000 + 13 %
    return deal


def _counts(deal: Opportunity) -> tuple[int, int]:
    return (
        OpportunityFieldChange.objects.filter(opportunity=deal).count(),
        AuditEvent.objects.filter(verb="sales.opportunity.updated").count(),
    )


def test_the_guard_is_registered() -> None:
    assert refuse_hand_entered_amount in sales_services._amount_guards


def test_service_refuses_a_typed_amount_on_a_deal_with_lines(personas: Personas, lined: Opportunity) -> None:
    before = _counts(lined)
    with pytest.raises(ValidationFailed) as exc:
        opportunity_update(actor=personas.rep, opportunity=lined, amount="9999", name="改名")
    assert set(exc.value.field_errors) == {"amount"}
    assert "products" in exc.value.field_errors["amount"][0]
    fresh = Opportunity.objects.get(pk=lined.pk)
    assert (fresh.amount, fresh.name) == (Decimal("2260.00"), lined.name)  # nothing written
    assert _counts(lined) == before


def test_the_same_amount_and_other_fields_still_save(personas: Personas, lined: Opportunity) -> None:
    opportunity_update(actor=personas.rep, opportunity=lined, amount="2260.00", name="改名")
    assert Opportunity.objects.get(pk=lined.pk).name == "改名"


def test_deal_without_lines_takes_a_typed_amount_also_after_its_last_line_is_removed(
    personas: Personas, deal: Opportunity
) -> None:
    opportunity_update(actor=personas.rep, opportunity=deal, amount="6000")
    assert Opportunity.objects.get(pk=deal.pk).amount == Decimal("6000.00")
    product = make_product(list_price=Decimal("100.00"), tax_rate=Decimal("0"))
    line = opportunity_line_add(actor=personas.rep, opportunity=deal, product_id=product.pk, quantity="1")
    opportunity_line_remove(actor=personas.rep, opportunity=deal, line=line)
    opportunity_update(actor=personas.rep, opportunity=deal, amount="7000")
    assert Opportunity.objects.get(pk=deal.pk).amount == Decimal("7000.00")


def test_edit_page_answers_400_on_amount(personas: Personas, lined: Opportunity, client_for) -> None:
    client = client_for(personas.rep)
    form = client.get(f"/opportunities/{lined.pk}/edit/").context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("contacts", "competitors")}
    data.update({"amount": "8888", "name": "改名", "owner": personas.rep.pk})
    response = client.post(f"/opportunities/{lined.pk}/edit/", data)
    assert response.status_code == 400
    assert response.context["form"].errors.get("amount")
    fresh = Opportunity.objects.get(pk=lined.pk)
    assert (fresh.amount, fresh.name) == (Decimal("2260.00"), lined.name)


def test_api_answers_400_naming_amount(personas: Personas, lined: Opportunity, api_for) -> None:
    before = _counts(lined)
    response = api_for(personas.rep).patch(f"/opportunities/{lined.pk}", {"amount": "8888.00"})
    assert response.status_code == 400
    body = response.json()
    assert "amount" in str(body)
    assert Opportunity.objects.get(pk=lined.pk).amount == Decimal("2260.00")
    assert _counts(lined) == before
    same = api_for(personas.rep).patch(f"/opportunities/{lined.pk}", {"amount": "2260.00", "name": "改名"})
    assert same.status_code == 200 and same.json()["name"] == "改名"
