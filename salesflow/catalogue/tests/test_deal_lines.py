"""Products on deals: pricing from the lookup, permissions per persona, the deal amount
following the lines through the sales service (history, audit), hostile input, and a
property: the deal amount is always the sum of the line totals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.http import Http404
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesflow.catalogue.models import OpportunityLine
from salesflow.catalogue.services import (
    amount_from_document,
    opportunity_line_add,
    opportunity_line_remove,
    opportunity_line_update,
    opportunity_lines_sync,
)
from salesflow.catalogue.tests.factories import make_group, make_price_list, make_product, make_rule, make_tier
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.sales.models import Opportunity, OpportunityFieldChange
from salesflow.sales.services import opportunity_update
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.testing import REP_RECORD_ACCESS, Personas, expected_denial

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(personas: Personas) -> Opportunity:
    return make_opportunity(personas.rep, amount="5000")


def test_add_prices_from_the_lookup_and_sets_the_amount(personas: Personas, deal: Opportunity) -> None:
    product = make_product(code="GW-1", list_price=Decimal("1000.00"), tax_rate=Decimal("13.00"))
    vip = make_group("vip", deal.account)
    plist = make_price_list({product: "900.00"}, customer_group=vip)
    make_tier(plist, product, "10", price="850.00")
    make_rule("5", customer_group=vip)
    line = opportunity_line_add(actor=personas.rep, opportunity=deal, product_id=product.pk, quantity="10")
    assert (line.unit_price, line.discount_percent, line.price_list_id, line.price_source) == (
        Decimal("850.00"),
        Decimal("5.00"),
        plist.pk,
        "tier",
    )
    # 10 × 850 = 8500; −5 % = 8075; +13 % tax = 1049.75 → 9124.75
    assert (line.gross, line.discount, line.net, line.tax, line.total) == (
        Decimal("8500.00"),
        Decimal("425.00"),
        Decimal("8075.00"),
        Decimal("1049.75"),
        Decimal("9124.75"),
    )
    assert (line.code, line.name_zh, line.unit) == ("GW-1", product.name_zh, "台")
    deal.refresh_from_db()
    assert deal.amount == Decimal("9124.75")
    # written through the sales service: field history and the deal's audit event
    change = OpportunityFieldChange.objects.filter(opportunity=deal, field="amount").latest("id")
    assert (change.old_amount, change.new_amount, change.changed_by) == (
        Decimal("5000.00"),
        Decimal("9124.75"),
        personas.rep,
    )
    assert AuditEvent.objects.filter(verb="sales.opportunity.updated", target_id=deal.pk).exists()
    assert AuditEvent.objects.filter(verb="catalogue.deal_line.added", target_id=deal.pk).count() == 1


def test_update_remove_and_manual_prices(personas: Personas, deal: Opportunity) -> None:
    a = make_product(list_price=Decimal("100.00"), tax_rate=Decimal("6.00"))
    b = make_product(list_price=Decimal("50.00"), tax_rate=Decimal("13.00"))
    la = opportunity_line_add(actor=personas.rep, opportunity=deal, product_id=a.pk, quantity="2")
    lb = opportunity_line_add(
        actor=personas.rep, opportunity=deal, product_id=b.pk, quantity="1", unit_price="40", discount_percent="10"
    )
    assert lb.price_source == "manual" and lb.position == la.position + 1
    deal.refresh_from_db()
    assert deal.amount == Decimal("212.00") + Decimal("40.68")
    opportunity_line_update(actor=personas.rep, opportunity=deal, line=la, quantity="3", discount_percent="50")
    deal.refresh_from_db()
    assert deal.amount == Decimal("159.00") + Decimal("40.68")
    opportunity_line_remove(actor=personas.rep, opportunity=deal, line=lb)
    deal.refresh_from_db()
    assert deal.amount == Decimal("159.00")
    opportunity_line_remove(actor=personas.rep, opportunity=deal, line=la)
    deal.refresh_from_db()
    assert deal.amount == Decimal("159.00")  # no lines: stays, entered by hand again
    assert not OpportunityLine.objects.filter(opportunity=deal).exists()


def test_amount_set_by_a_document_while_lines_exist_is_resynced(personas: Personas, deal: Opportunity) -> None:
    product = make_product(list_price=Decimal("100.00"), tax_rate=Decimal("0"))
    opportunity_line_add(actor=personas.rep, opportunity=deal, product_id=product.pk, quantity="1")
    with amount_from_document():  # e.g. an accepted quote; typed by hand it is refused (test_amount_guard)
        opportunity_update(actor=personas.rep, opportunity=deal, amount="777")
    deal.refresh_from_db()
    assert deal.amount == Decimal("777.00")
    assert opportunity_lines_sync(actor=personas.rep, opportunity=deal) == Decimal("100.00")
    deal.refresh_from_db()
    assert deal.amount == Decimal("100.00")


@pytest.mark.parametrize("persona", list(REP_RECORD_ACCESS))
def test_permissions_per_persona(personas: Personas, deal: Opportunity, persona: str) -> None:
    product = make_product()
    user = personas.all()[persona]
    denial = expected_denial(persona, write=True)
    if denial is None:
        line = opportunity_line_add(actor=user, opportunity=deal, product_id=product.pk, quantity="1")
        opportunity_line_update(actor=user, opportunity=deal, line=line, quantity="2")
        opportunity_line_remove(actor=user, opportunity=deal, line=line)
        return
    expected = Http404 if denial == 404 else Forbidden
    with pytest.raises(expected):
        opportunity_line_add(actor=user, opportunity=deal, product_id=product.pk, quantity="1")
    assert not OpportunityLine.objects.exists()
    line = opportunity_line_add(actor=personas.rep, opportunity=deal, product_id=product.pk, quantity="1")
    with pytest.raises(expected):
        opportunity_line_update(actor=user, opportunity=deal, line=line, quantity="5")
    with pytest.raises(expected):
        opportunity_line_remove(actor=user, opportunity=deal, line=line)
    assert OpportunityLine.objects.get(pk=line.pk).quantity == Decimal("1.000")


def test_inactive_or_unseen_product_and_other_deals_line(personas: Personas, deal: Opportunity) -> None:
    inactive = make_product(active=False)
    with pytest.raises(Http404):  # a rep does not see inactive products
        opportunity_line_add(actor=personas.rep, opportunity=deal, product_id=inactive.pk, quantity="1")
    with pytest.raises(ValidationFailed) as caught:  # the admin sees it, but it is not sold
        opportunity_line_add(actor=personas.admin, opportunity=deal, product_id=inactive.pk, quantity="1")
    assert "product_id" in caught.value.field_errors
    other = make_opportunity(personas.teammate)
    line = opportunity_line_add(actor=personas.teammate, opportunity=other, product_id=make_product().pk, quantity="1")
    with pytest.raises(Http404):
        opportunity_line_update(actor=personas.rep, opportunity=deal, line=line, quantity="9")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", "0"),
        ("quantity", "-1"),
        ("quantity", "NaN"),
        ("quantity", "1.0001"),
        ("quantity", "1e12"),
        ("unit_price", "Infinity"),
        ("unit_price", "1.234"),
        ("discount_percent", "100.5"),
        ("discount_percent", True),
        ("product_id", "1"),
        ("product_id", None),
        ("channel", "telepathy"),
    ],
)
def test_hostile_line_input(personas: Personas, deal: Opportunity, field: str, value: object) -> None:
    product = make_product()
    kwargs: dict[str, object] = {"product_id": product.pk, "quantity": "1", field: value}
    with pytest.raises(ValidationFailed) as caught:
        opportunity_line_add(actor=personas.rep, opportunity=deal, **kwargs)  # type: ignore[arg-type]
    assert field in caught.value.field_errors
    assert not OpportunityLine.objects.exists()
    deal.refresh_from_db()
    assert deal.amount == Decimal("5000.00")


def test_total_above_maximum_is_refused(personas: Personas, deal: Opportunity) -> None:
    product = make_product(list_price=Decimal("999999999999.00"))
    with pytest.raises(ValidationFailed) as caught:
        opportunity_line_add(actor=personas.rep, opportunity=deal, product_id=product.pk, quantity="2")
    assert "quantity" in caught.value.field_errors
    assert not OpportunityLine.objects.exists()


def test_no_price_in_the_deals_currency(personas: Personas) -> None:
    usd_deal = make_opportunity(personas.rep, currency="USD", amount="10")
    product = make_product()  # CNY list price only
    with pytest.raises(ValidationFailed) as caught:
        opportunity_line_add(actor=personas.rep, opportunity=usd_deal, product_id=product.pk, quantity="1")
    assert "unit_price" in caught.value.field_errors
    line = opportunity_line_add(
        actor=personas.rep, opportunity=usd_deal, product_id=product.pk, quantity="1", unit_price="120.00"
    )
    assert line.price_source == "manual"


LINE = st.tuples(
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("5000"), places=3),
    st.decimals(min_value=Decimal("0"), max_value=Decimal("99999.99"), places=2),
    st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2),
    st.sampled_from([Decimal("0"), Decimal("6"), Decimal("9"), Decimal("13")]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, min_size=1, max_size=5), drop=st.integers(min_value=0, max_value=4))
def test_deal_amount_is_the_sum_of_line_totals(
    personas: Personas, deal: Opportunity, lines: list[tuple[Decimal, Decimal, Decimal, Decimal]], drop: int
) -> None:
    OpportunityLine.objects.filter(opportunity=deal).delete()
    created = []
    for quantity, price, discount, tax in lines:
        product = make_product(tax_rate=tax)
        created.append(
            opportunity_line_add(
                actor=personas.rep,
                opportunity=deal,
                product_id=product.pk,
                quantity=quantity,
                unit_price=price,
                discount_percent=discount,
            )
        )
    if len(created) > 1:
        opportunity_line_remove(actor=personas.rep, opportunity=deal, line=created[drop % len(created)])
    deal.refresh_from_db()
    totals = list(OpportunityLine.objects.filter(opportunity=deal).values_list("total", flat=True))
    assert deal.amount == sum(totals, Decimal("0"))
    for line in OpportunityLine.objects.filter(opportunity=deal):
        assert line.total == line.net + line.tax and line.net == line.gross - line.discount
