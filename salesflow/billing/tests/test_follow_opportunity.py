"""Open receivables follow one deal reassigned (``sales.services.opportunity_update(owner=…)``
→ ``billing.services.billing_follow_opportunity``, the same rule as the account's follower):
the deal's plans with an open instalment go to the new owner with their instalments and
payments; paid-up plans and other deals' plans stay; a refused follower rolls the deal's
reassignment back. Driven through the service, the API and the list's bulk bar."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from salesflow.billing.models import Instalment, Payment, PaymentPlan
from salesflow.billing.services import payment_record, plan_create
from salesflow.billing.tests.factories import make_contract
from salesflow.core.errors import Forbidden
from salesflow.core.models import AuditEvent
from salesflow.parties.services import account_reassign
from salesflow.parties.tests.factories import make_account
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_update
from salesflow.sales.tests.factories import make_opportunity

pytestmark = pytest.mark.django_db


def _owners(model: type[PaymentPlan | Instalment | Payment], **filters: object) -> set[int]:
    return {row.owner_id for row in model._default_manager.filter(**filters)}


def _world(personas):  # type: ignore[no-untyped-def]
    """One account with two deals: the deal has an open plan (40,000 of 100,000 received) and a
    paid-up plan; the other deal has an open plan."""
    account = make_account(personas.rep)
    deal = make_opportunity(personas.rep, account=account)
    other = make_opportunity(personas.rep, account=account)
    open_contract = make_contract(personas.rep, account, opportunity=deal)
    paid_contract = make_contract(
        personas.rep, account, opportunity=deal, total=Decimal("10000.00"), payment_terms="100"
    )
    other_contract = make_contract(personas.rep, account, opportunity=other)
    plans = {
        name: plan_create(actor=personas.rep, kind="contract", document_id=contract.pk)
        for name, contract in (("open", open_contract), ("paid", paid_contract), ("other", other_contract))
    }
    today = timezone.localdate()
    payment_record(actor=personas.rep, amount="40000", received_on=today, kind="contract", document_id=open_contract.pk)
    payment_record(actor=personas.rep, amount="10000", received_on=today, kind="contract", document_id=paid_contract.pk)
    return deal, plans


def _assert_followed(personas, plans) -> None:  # type: ignore[no-untyped-def]
    new, old = personas.teammate.pk, personas.rep.pk
    assert PaymentPlan.objects.get(pk=plans["open"].pk).owner_id == new
    assert _owners(Instalment, plan=plans["open"]) == {new}
    assert _owners(Payment, contract_id=plans["open"].contract_id) == {new}
    for name in ("paid", "other"):  # history, and another deal's receivables
        assert PaymentPlan.objects.get(pk=plans[name].pk).owner_id == old
        assert _owners(Instalment, plan=plans[name]) == {old}
    assert _owners(Payment, contract_id=plans["paid"].contract_id) == {old}
    event = AuditEvent.objects.get(verb="billing.plan.reassigned")
    assert event.target_id == plans["open"].pk and event.actor_id == personas.manager.pk
    assert event.data["previous_owner"] == old and event.data["owner"] == new
    assert (event.data["instalments"], event.data["payments"]) == (3, 1)


def test_reassigning_one_deal_moves_its_open_receivables(personas):
    deal, plans = _world(personas)
    opportunity_update(actor=personas.manager, opportunity=deal, owner=personas.teammate)
    _assert_followed(personas, plans)


def test_the_api_reassignment_moves_them(personas, api_for):
    deal, plans = _world(personas)
    response = api_for(personas.manager).patch(f"/opportunities/{deal.pk}", {"owner_id": personas.teammate.pk})
    assert response.status_code == 200, response.content
    _assert_followed(personas, plans)


def test_the_bulk_bar_reassignment_moves_them(personas, client_for):
    deal, plans = _world(personas)
    response = client_for(personas.manager).post(
        "/opportunities/bulk/", {"action": "assign", "owner": personas.teammate.pk, "ids": [deal.pk], "scope": "ids"}
    )
    assert response.status_code in (200, 302)
    assert Opportunity.objects.get(pk=deal.pk).owner_id == personas.teammate.pk
    _assert_followed(personas, plans)


def test_a_refused_follower_rolls_the_deal_back(personas):
    """The deal's plan belongs to a rep of another team (the contract was made for them): the
    manager may reassign the deal but not that plan, so nothing changes."""
    account = make_account(personas.rep)
    deal = make_opportunity(personas.rep, account=account)
    contract = make_contract(personas.outsider, account, opportunity=deal)
    plan = plan_create(actor=personas.outsider, kind="contract", document_id=contract.pk)
    with pytest.raises(Forbidden):
        opportunity_update(actor=personas.manager, opportunity=deal, owner=personas.teammate)
    assert Opportunity.objects.get(pk=deal.pk).owner_id == personas.rep.pk
    assert PaymentPlan.objects.get(pk=plan.pk).owner_id == personas.outsider.pk
    assert _owners(Instalment, plan=plan) == {personas.outsider.pk}
    assert not AuditEvent.objects.filter(verb="billing.plan.reassigned").exists()
    assert not AuditEvent.objects.filter(verb="sales.opportunity.updated", target_id=deal.pk).exists()


def test_an_account_reassignment_moves_each_plan_once(personas):
    """With the account follower and the deal follower both registered, a plan of an open deal
    moves once (one event), whichever follower reaches it first."""
    deal, plans = _world(personas)
    account_reassign(actor=personas.manager, account=deal.account, owner=personas.teammate, follow=True)
    moved = AuditEvent.objects.filter(verb="billing.plan.reassigned")
    assert sorted(moved.values_list("target_id", flat=True)) == sorted([plans["open"].pk, plans["other"].pk])
    assert PaymentPlan.objects.get(pk=plans["paid"].pk).owner_id == personas.rep.pk


def test_changing_other_fields_moves_nothing(personas):
    deal, plans = _world(personas)
    opportunity_update(actor=personas.rep, opportunity=deal, name="改名")
    assert _owners(PaymentPlan, pk__in=[p.pk for p in plans.values()]) == {personas.rep.pk}
    assert not AuditEvent.objects.filter(verb="billing.plan.reassigned").exists()
