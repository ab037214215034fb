"""Open receivables follow an account reassigned with its records
(``parties.services.account_reassign(follow=True)`` → ``billing.services.billing_follow_account``):
plans with an open instalment go to the new owner with their instalments and payments; paid-up
plans stay; a refused reassignment changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from salesflow.billing.models import Instalment, Payment, PaymentPlan
from salesflow.billing.selectors import ageing_report
from salesflow.billing.services import payment_record, plan_create
from salesflow.billing.tests.factories import make_contract
from salesflow.core.errors import Forbidden
from salesflow.core.models import AuditEvent
from salesflow.parties.services import account_reassign
from salesflow.parties.tests.factories import make_account

pytestmark = pytest.mark.django_db


def _owners(model: type[PaymentPlan | Instalment | Payment], **filters: object) -> set[int]:
    return {row.owner_id for row in model._default_manager.filter(**filters)}


def test_open_plans_instalments_and_payments_follow_the_account(personas):
    account = make_account(personas.rep)
    open_contract = make_contract(personas.rep, account, total=Decimal("100000.00"))
    paid_contract = make_contract(personas.rep, account, total=Decimal("10000.00"), payment_terms="100")
    open_plan = plan_create(actor=personas.rep, kind="contract", document_id=open_contract.pk)
    paid_plan = plan_create(actor=personas.rep, kind="contract", document_id=paid_contract.pk)
    today = timezone.localdate()
    payment_record(actor=personas.rep, amount="40000", received_on=today, kind="contract", document_id=open_contract.pk)
    payment_record(actor=personas.rep, amount="10000", received_on=today, kind="contract", document_id=paid_contract.pk)
    assert not Instalment.objects.filter(plan=paid_plan, is_open=True).exists()

    account_reassign(actor=personas.manager, account=account, owner=personas.teammate, follow=True)

    open_plan.refresh_from_db()
    paid_plan.refresh_from_db()
    assert open_plan.owner_id == personas.teammate.pk
    assert _owners(Instalment, plan=open_plan) == {personas.teammate.pk}
    assert _owners(Payment, contract=open_contract) == {personas.teammate.pk}
    # the paid-up plan, its instalments and payment keep their history
    assert paid_plan.owner_id == personas.rep.pk
    assert _owners(Instalment, plan=paid_plan) == {personas.rep.pk}
    assert _owners(Payment, contract=paid_contract) == {personas.rep.pk}
    event = AuditEvent.objects.get(verb="billing.plan.reassigned")
    assert event.data["previous_owner"] == personas.rep.pk and event.data["owner"] == personas.teammate.pk
    assert (event.data["instalments"], event.data["payments"]) == (3, 1)
    # the ageing report by rep puts the open amount under the new owner (independent sum)
    expected = sum((i.amount - i.paid for i in Instalment.objects.filter(account=account, is_open=True)), Decimal("0"))
    assert expected == Decimal("60000.00")
    report = ageing_report(personas.admin, group="rep", today=today)
    rows = {row.key: row for row in report.rows}
    assert rows[personas.teammate.pk].total == expected


def test_without_follow_nothing_moves(personas):
    account = make_account(personas.rep)
    contract = make_contract(personas.rep, account)
    plan = plan_create(actor=personas.rep, kind="contract", document_id=contract.pk)
    account_reassign(actor=personas.manager, account=account, owner=personas.teammate, follow=False)
    assert PaymentPlan.objects.get(pk=plan.pk).owner_id == personas.rep.pk
    assert _owners(Instalment, plan=plan) == {personas.rep.pk}


def test_a_refused_follower_changes_nothing(personas):
    """An actor who may not change the plan (someone else's rep's records) is refused, and the
    account's reassignment rolls back with it."""
    from salesflow.billing.services import billing_follow_account

    account = make_account(personas.rep)
    contract = make_contract(personas.rep, account)
    plan = plan_create(actor=personas.rep, kind="contract", document_id=contract.pk)
    with pytest.raises(Forbidden):
        billing_follow_account(personas.other_manager, account, personas.outsider)
    assert PaymentPlan.objects.get(pk=plan.pk).owner_id == personas.rep.pk
    assert _owners(Instalment, plan=plan) == {personas.rep.pk}
    assert not AuditEvent.objects.filter(verb="billing.plan.reassigned").exists()
