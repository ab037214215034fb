"""An accepted quote sets the deal's amount also when the deal has product lines (the
catalogue's guard refuses only hand-typed amounts; review 2c)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesflow.catalogue.services import opportunity_line_add
from salesflow.catalogue.tests.factories import make_product
from salesflow.core.errors import ValidationFailed
from salesflow.quotes.services import quote_create, quote_decide, quote_issue
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_update

pytestmark = pytest.mark.django_db


def test_an_accepted_quote_still_sets_the_amount_of_a_deal_with_lines(personas, deal):
    product = make_product(list_price=Decimal("1000.00"), tax_rate=Decimal("13.00"))
    opportunity_line_add(actor=personas.rep, opportunity=deal, product_id=product.pk, quantity="2")
    with pytest.raises(ValidationFailed):
        opportunity_update(actor=personas.rep, opportunity=deal, amount="5300")
    quote = quote_create(
        actor=personas.rep,
        opportunity=deal,
        lines=[{"name_zh": "定制开发", "quantity": "1", "unit_price": "5000.00", "tax_rate": "6"}],
    )
    quote = quote_issue(actor=personas.rep, quote=quote)
    assert quote.current_version_id is not None
    quote_decide(version_id=quote.current_version_id, decision="accept", name="陈静", ip=None)
    # 5000 + 6 % = 5300.00
    assert Opportunity.objects.get(pk=deal.pk).amount == Decimal("5300.00")
