"""Plans, allocations, statuses, invoices and reminders through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from salesflow.billing.choices import InstalmentStatus, InvoiceStatus, PaymentStatus
from salesflow.billing.models import Allocation, Instalment, InstalmentReminder, Invoice, Payment, PaymentPlan
from salesflow.billing.services import (
    AllocationInput,
    InstalmentInput,
    allocation_remove,
    instalment_add,
    instalment_update,
    instalment_void,
    invoice_create,
    invoice_issue,
    invoice_red_reverse,
    invoice_update,
    invoice_void,
    payment_allocate,
    payment_auto_allocate,
    payment_record,
    payment_void,
    plan_create,
    reminders_run,
)
from salesflow.billing.status import instalment_status, status_of
from salesflow.billing.tests.factories import make_contract, make_order
from salesflow.contracts.models import ContractStatus
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = timezone.localdate()


def _plan(personas, total="100000.00", terms="30/60/10", **kw):
    contract = make_contract(personas.rep, total=D(total), signed_on=TODAY - dt.timedelta(days=100), **kw)
    return plan_create(actor=personas.rep, kind="contract", document_id=contract.pk, terms=terms), contract


def _insts(plan):
    return list(Instalment.objects.filter(plan=plan).order_by("due_date", "position"))


def test_plan_from_the_contract_terms(personas):
    contract = make_contract(personas.rep, total=D("100000.00"), payment_terms="30/60/10 @ 0/60/365")
    plan = plan_create(actor=personas.assistant, kind="contract", document_id=contract.pk)
    assert plan.terms == "30/60/10 @ 0/60/365" and plan.owner_id == personas.rep.pk
    assert [(i.amount, i.due_date) for i in _insts(plan)] == [
        (D("30000.00"), dt.date(2026, 1, 1)),
        (D("60000.00"), dt.date(2026, 3, 2)),
        (D("10000.00"), dt.date(2027, 1, 1)),
    ]
    assert AuditEvent.objects.filter(verb="billing.plan.created", target_id=plan.pk).count() == 1


def test_plan_for_an_order_by_hand(personas):
    order = make_order(personas.rep, total=D("50000.00"))
    rows = [InstalmentInput("20000", "2026-02-01", "预付"), InstalmentInput("30000.00", "2026-03-01", "尾款")]
    plan = plan_create(actor=personas.rep, kind="order", document_id=order.pk, instalments=rows)
    assert [i.label for i in _insts(plan)] == ["预付", "尾款"]


def test_plan_never_exceeds_the_total(personas):
    order = make_order(personas.rep, total=D("100.00"))
    with pytest.raises(ValidationFailed) as exc:
        plan_create(
            actor=personas.rep,
            kind="order",
            document_id=order.pk,
            instalments=[InstalmentInput("60", "2026-02-01"), InstalmentInput("40.01", "2026-03-01")],
        )
    assert "amount" in exc.value.field_errors
    assert not PaymentPlan.objects.exists()
    plan = plan_create(
        actor=personas.rep, kind="order", document_id=order.pk, instalments=[InstalmentInput("60", "2026-02-01")]
    )
    with pytest.raises(ValidationFailed):
        instalment_add(actor=personas.rep, plan=plan, amount="40.01", due_date="2026-04-01")
    inst = instalment_add(actor=personas.rep, plan=plan, amount="40.00", due_date="2026-04-01")
    with pytest.raises(ValidationFailed):
        instalment_update(actor=personas.rep, instalment=inst, amount="40.01")
    first = _insts(plan)[0]
    instalment_void(actor=personas.rep, instalment=first, reason="客户取消部分")
    instalment_add(actor=personas.rep, plan=plan, amount="60.00", due_date="2026-05-01")  # void left the sum
    assert sum(i.amount for i in _insts(plan) if i.voided_at is None) == D("100.00")


def test_second_plan_and_draft_contract_refused(personas):
    _, contract = _plan(personas)
    with pytest.raises(Conflict) as exc:
        plan_create(actor=personas.rep, kind="contract", document_id=contract.pk)
    assert exc.value.code == "plan_exists"
    draft = make_contract(personas.rep, status=ContractStatus.DRAFT)
    with pytest.raises(Conflict):
        plan_create(actor=personas.rep, kind="contract", document_id=draft.pk)


@pytest.mark.parametrize(
    "who,error", [("teammate", Http404), ("outsider", Http404), ("support", Forbidden), ("rep", None)]
)
def test_plan_permissions(personas, who, error):
    contract = make_contract(personas.rep)
    if error is None:
        plan_create(actor=getattr(personas, who), kind="contract", document_id=contract.pk)
        return
    with pytest.raises(error):
        plan_create(actor=getattr(personas, who), kind="contract", document_id=contract.pk)
    assert not PaymentPlan.objects.exists()


def test_payment_pays_one_instalment_and_part_of_the_next(personas):
    plan, contract = _plan(personas)
    payment = payment_record(
        actor=personas.assistant, kind="contract", document_id=contract.pk, amount="40000", received_on=TODAY
    )
    first, second, third = _insts(plan)
    assert (first.paid, second.paid, third.paid) == (D("30000.00"), D("10000.00"), D("0.00"))
    assert payment.allocated == D("40000.00") and payment.unallocated == 0
    assert payment.number.startswith(f"HK-{TODAY.year}-")
    assert status_of(first, TODAY) == InstalmentStatus.PAID
    assert status_of(second, TODAY) == InstalmentStatus.OVERDUE  # due 70 days ago, partly paid
    assert status_of(second, TODAY - dt.timedelta(days=100)) == InstalmentStatus.PARTLY_PAID


def test_overpayment_is_left_unallocated_and_flagged(personas):
    _, contract = _plan(personas, total="1000.00", terms="100")
    payment = payment_record(
        actor=personas.rep, kind="contract", document_id=contract.pk, amount="1200.50", received_on=TODAY
    )
    assert payment.allocated == D("1000.00") and payment.unallocated == D("200.50")
    assert list(Payment.objects.filter(allocated__lt=D("1200.50"))) == [payment]


def test_several_payments_to_one_instalment_and_manual_allocation(personas):
    plan, contract = _plan(personas, total="1000.00", terms="50/50")
    first, second = _insts(plan)
    p1 = payment_record(
        actor=personas.rep,
        kind="contract",
        document_id=contract.pk,
        amount="300",
        received_on=TODAY,
        allocate="manual",
        allocations=[AllocationInput(second.pk, "300")],
    )
    p2 = payment_record(
        actor=personas.rep, kind="contract", document_id=contract.pk, amount="400", received_on=TODAY, allocate="none"
    )
    payment_allocate(actor=personas.rep, payment=p2, allocations=[AllocationInput(second.pk, "200")])
    second.refresh_from_db()
    assert second.paid == D("500.00") and not second.is_open
    with pytest.raises(ValidationFailed) as exc:  # over-fills the instalment
        payment_allocate(actor=personas.rep, payment=p2, allocations=[AllocationInput(second.pk, "0.01")])
    assert "allocations.0.amount" in exc.value.field_errors
    with pytest.raises(ValidationFailed):  # more than is left of the payment
        payment_allocate(actor=personas.rep, payment=p2, allocations=[AllocationInput(first.pk, "200.01")])
    payment_auto_allocate(actor=personas.rep, payment=p2)
    p2.refresh_from_db()
    first.refresh_from_db()
    assert p2.allocated == D("400.00") and first.paid == D("200.00")
    allocation_remove(actor=personas.rep, payment=p1, instalment_id=second.pk)
    second.refresh_from_db()
    assert second.paid == D("200.00") and second.is_open
    payment_void(actor=personas.rep, payment=p2, reason="重复录入")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.paid, second.paid) == (D("0.00"), D("0.00"))
    assert Payment.objects.get(pk=p2.pk).status == PaymentStatus.VOID
    assert not Allocation.objects.filter(payment=p2).exists()


def test_allocation_refuses_other_customers_and_unseen_instalments(personas):
    _, contract = _plan(personas, total="1000.00", terms="100")
    other_plan, _c = _plan(personas, total="1000.00", terms="100")
    outsider_contract = make_contract(personas.outsider)
    outsider_plan = plan_create(actor=personas.outsider, kind="contract", document_id=outsider_contract.pk)
    payment = payment_record(
        actor=personas.rep, kind="contract", document_id=contract.pk, amount="10", received_on=TODAY, allocate="none"
    )
    with pytest.raises(ValidationFailed):
        payment_allocate(
            actor=personas.rep, payment=payment, allocations=[AllocationInput(_insts(other_plan)[0].pk, "1")]
        )
    with pytest.raises(Http404):
        payment_allocate(
            actor=personas.rep, payment=payment, allocations=[AllocationInput(_insts(outsider_plan)[0].pk, "1")]
        )
    assert Payment.objects.get(pk=payment.pk).allocated == 0


def test_void_instalment_needs_a_reason_and_no_payments(personas):
    plan, contract = _plan(personas, total="1000.00", terms="50/50")
    first, second = _insts(plan)
    payment_record(actor=personas.rep, kind="contract", document_id=contract.pk, amount="1", received_on=TODAY)
    with pytest.raises(Conflict):
        instalment_void(actor=personas.rep, instalment=first, reason="x")
    with pytest.raises(ValidationFailed):
        instalment_void(actor=personas.rep, instalment=second, reason="  ")
    instalment_void(actor=personas.rep, instalment=second, reason="折让")
    second.refresh_from_db()
    assert status_of(second, TODAY) == InstalmentStatus.VOID and not second.is_open
    with pytest.raises(Conflict):
        instalment_update(actor=personas.rep, instalment=second, amount="1")


def test_status_rule():
    day = dt.date(2026, 6, 1)

    def s(amount, paid, due, voided=False):
        return instalment_status(amount=D(amount), paid=D(paid), due_date=due, voided=voided, today=day)

    assert s("10", "0", day) == InstalmentStatus.PENDING  # due today is not overdue
    assert s("10", "1", day) == InstalmentStatus.PARTLY_PAID
    assert s("10", "0", day - dt.timedelta(1)) == InstalmentStatus.OVERDUE
    assert s("10", "9.99", day - dt.timedelta(1)) == InstalmentStatus.OVERDUE
    assert s("10", "10", day - dt.timedelta(1)) == InstalmentStatus.PAID
    assert s("10", "10", day, voided=True) == InstalmentStatus.VOID
    assert s("0", "0", day - dt.timedelta(9)) == InstalmentStatus.PAID


def test_invoice_lifecycle_and_immutability(personas):
    _, contract = _plan(personas, total="11300.00", terms="100")
    payment = payment_record(
        actor=personas.rep, kind="contract", document_id=contract.pk, amount="11300", received_on=TODAY
    )
    invoice = invoice_create(
        actor=personas.assistant,
        kind="contract",
        document_id=contract.pk,
        amount="11300.00",
        tax_rate="13",
        invoice_type="vat_special",
        payment_ids=[payment.pk],
    )
    assert (invoice.net, invoice.tax, invoice.total) == (D("10000.00"), D("1300.00"), D("11300.00"))
    assert invoice.number == "" and invoice.status == InvoiceStatus.DRAFT
    invoice_update(actor=personas.rep, invoice=invoice, amount="113.00")
    invoice = invoice_issue(actor=personas.rep, invoice=invoice)
    today = timezone.localdate()  # not the module-level TODAY: the run may cross midnight
    assert invoice.number == f"FP-{today.year}-00001" and invoice.issued_on == today
    with pytest.raises(Conflict) as exc:
        invoice_update(actor=personas.rep, invoice=invoice, amount="1.00")
    assert exc.value.code == "invoice_immutable"
    assert Invoice.objects.get(pk=invoice.pk).total == D("113.00")
    red = invoice_red_reverse(actor=personas.rep, invoice=invoice, reason="开票信息有误")
    assert red.total == D("-113.00") and red.number == f"FP-{TODAY.year}-00002" and red.reverses_id == invoice.pk
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.RED_REVERSED
    with pytest.raises(Conflict):
        invoice_void(actor=personas.rep, invoice=red, reason="x")
    with pytest.raises(Forbidden):
        invoice_create(actor=personas.support, kind="contract", document_id=contract.pk, amount="1")


def test_reminders_are_idempotent_and_reach_owner(personas):
    contract = make_contract(personas.rep, total=D("300.00"))
    rows = [
        InstalmentInput("100", TODAY + dt.timedelta(days=7)),  # -7 rule
        InstalmentInput("100", TODAY - dt.timedelta(days=1)),  # +1 rule
        InstalmentInput("100", TODAY + dt.timedelta(days=3)),  # no rule today
    ]
    plan_create(actor=personas.rep, kind="contract", document_id=contract.pk, instalments=rows)
    assert reminders_run(today=TODAY) == 2
    assert reminders_run(today=TODAY) == 0
    assert InstalmentReminder.objects.count() == 2
    events = AuditEvent.objects.filter(verb="billing.instalment.reminder")
    assert sorted(e.data["days"] for e in events) == [-7, 1]
    assert {e.data["owner"] for e in events} == {personas.rep.pk}
