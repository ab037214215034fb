"""Ageing buckets (exact, mixed currencies), the status rule in SQL and Python, allocation
invariants (hypothesis) and the concurrency guarantee on PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.db.models import Sum
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from salesflow.billing.choices import InstalmentStatus
from salesflow.billing.models import Allocation, Instalment, Payment, PaymentPlan
from salesflow.billing.selectors import AgeingFilters, ageing_report
from salesflow.billing.services import (
    AllocationInput,
    InstalmentInput,
    instalment_add,
    instalment_void,
    payment_allocate,
    payment_record,
    plan_create,
)
from salesflow.billing.status import bucket_of, instalment_status, status_q
from salesflow.billing.tests.factories import make_contract, make_order
from salesflow.core.errors import ValidationFailed
from salesflow.core.models import ExchangeRate
from salesflow.parties.tests.factories import make_account
from salesflow.users.testing import make_personas

D = Decimal
TODAY = dt.date(2026, 12, 3)


def _rows(*pairs):
    return [InstalmentInput(amount, TODAY - dt.timedelta(days=late)) for amount, late in pairs]


@pytest.mark.django_db
def test_ageing_buckets_exact_with_mixed_currencies(personas):
    ExchangeRate.objects.create(currency="USD", rate=D("7.12345678"), valid_from=dt.date(2026, 1, 1))
    ExchangeRate.objects.create(currency="USD", rate=D("7.5"), valid_from=TODAY + dt.timedelta(days=1))  # not yet
    account = make_account(personas.rep, name="星云科技")
    cny = make_contract(personas.rep, account, total=D("100000.00"))
    usd = make_order(personas.teammate, account, total=D("1000.00"), currency="USD")
    eur = make_order(personas.rep, account, total=D("500.00"), currency="EUR")  # no rate: left out
    plan_create(
        actor=personas.admin,
        kind="contract",
        document_id=cny.pk,
        instalments=_rows(
            ("100.00", -5), ("200.00", 0), ("300.00", 1), ("400.00", 30), ("500.00", 31), ("600.00", 90), ("700.00", 91)
        ),
    )
    plan_create(
        actor=personas.admin, kind="order", document_id=usd.pk, instalments=_rows(("0.01", 45), ("333.33", 200))
    )
    plan_create(actor=personas.admin, kind="order", document_id=eur.pk, instalments=_rows(("50.00", 10)))
    report = ageing_report(personas.admin, group="customer", today=TODAY)
    assert report.unconverted == {"EUR": 1}
    (row,) = report.rows
    assert row.label == "星云科技"
    # USD: 0.01 × 7.12345678 = 0.07 ; 333.33 × 7.12345678 = 2374.4618... → 2374.46
    assert row.buckets == {
        "current": D("300.00"),
        "1_30": D("700.00"),
        "31_60": D("500.07"),
        "61_90": D("600.00"),
        "90_plus": D("3074.46"),
    }
    assert row.total == report.total == sum(report.totals.values()) == D("5174.53")
    by_rep = ageing_report(personas.admin, group="rep", today=TODAY)
    assert {r.label: r.total for r in by_rep.rows} == {"张伟": D("2800.00"), "李娜": D("2374.53")}
    assert by_rep.total == report.total
    by_team = ageing_report(personas.admin, group="team", today=TODAY)
    assert [(r.label, r.total) for r in by_team.rows] == [("华东一组", D("5174.53"))]
    only_rep = ageing_report(personas.rep, group="rep", today=TODAY)
    assert [r.label for r in only_rep.rows] == ["张伟"]  # the teammate's USD order is not the rep's money
    filtered = ageing_report(personas.admin, today=TODAY, filters=AgeingFilters(currency="USD"))
    assert filtered.total == D("2374.53")
    assert ageing_report(personas.support, today=TODAY).rows == []


@pytest.mark.django_db
def test_ageing_others_row_keeps_totals_exact(personas):
    for i in range(5):
        contract = make_contract(personas.rep, total=D("1000.00"))
        plan_create(
            actor=personas.rep, kind="contract", document_id=contract.pk, instalments=_rows((f"{i + 1}.11", 10))
        )
    report = ageing_report(personas.rep, today=TODAY, limit=2)
    assert len(report.rows) == 3 and report.rows[-1].others
    assert report.total == D("5.00") + D("0.55") * 1 + D("10.00") and report.row_count == 5
    assert sum(r.total for r in report.rows) == report.total


def test_bucket_boundaries():
    assert [bucket_of(TODAY - dt.timedelta(days=d), TODAY) for d in (-1, 0, 1, 30, 31, 60, 61, 90, 91, 900)] == [
        "current",
        "current",
        "1_30",
        "1_30",
        "31_60",
        "31_60",
        "61_90",
        "61_90",
        "90_plus",
        "90_plus",
    ]


@pytest.mark.django_db
def test_status_in_sql_agrees_with_the_rule(personas):
    contract = make_contract(personas.rep, total=D("1000.00"))
    plan = plan_create(
        actor=personas.rep,
        kind="contract",
        document_id=contract.pk,
        instalments=_rows(("100", 3), ("100", 0), ("100", -3), ("100", 3), ("100", -3), ("0", 5), ("100", 1)),
    )
    insts = list(Instalment.objects.filter(plan=plan).order_by("position"))
    payment = payment_record(
        actor=personas.rep, kind="contract", document_id=contract.pk, amount="350", received_on=TODAY, allocate="none"
    )
    payment_allocate(
        actor=personas.rep,
        payment=payment,
        allocations=[
            AllocationInput(insts[0].pk, "100"),
            AllocationInput(insts[3].pk, "50"),
            AllocationInput(insts[4].pk, "50"),
        ],
    )
    instalment_void(actor=personas.rep, instalment=insts[6], reason="取消")
    for day in (TODAY - dt.timedelta(days=10), TODAY, TODAY + dt.timedelta(days=10)):
        for status in InstalmentStatus.values:
            in_sql = set(
                Instalment.objects.filter(plan=plan).filter(status_q(status, day)).values_list("pk", flat=True)
            )
            in_python = {
                i.pk
                for i in Instalment.objects.filter(plan=plan)
                if instalment_status(
                    amount=i.amount, paid=i.paid, due_date=i.due_date, voided=i.voided_at is not None, today=day
                )
                == status
            }
            assert in_sql == in_python, (status, day)


class AllocationInvariants(TestCase):
    """Whatever payments arrive and however they are allocated: Σ allocations of a payment =
    payment − unallocated; an instalment's paid = Σ its allocations ≤ its amount; its status
    is paid exactly when paid = amount."""

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        amounts=st.lists(st.integers(min_value=1, max_value=50_000), min_size=1, max_size=4),
        payments=st.lists(
            st.tuples(st.integers(min_value=1, max_value=80_000), st.booleans(), st.integers(0, 3)),
            min_size=1,
            max_size=5,
        ),
    )
    def test_allocation_invariants(self, amounts, payments):
        with translation.override("en"):
            personas = make_personas()
            total = D(sum(amounts)) / 100
            contract = make_contract(personas.rep, total=total)
            plan = plan_create(
                actor=personas.rep,
                kind="contract",
                document_id=contract.pk,
                instalments=[InstalmentInput(D(a) / 100, TODAY + dt.timedelta(days=i)) for i, a in enumerate(amounts)],
            )
            insts = list(Instalment.objects.filter(plan=plan).order_by("position"))
            for cents, auto, target in payments:
                value = D(cents) / 100
                if auto:
                    payment_record(
                        actor=personas.rep, kind="contract", document_id=contract.pk, amount=value, received_on=TODAY
                    )
                    continue
                payment = payment_record(
                    actor=personas.rep,
                    kind="contract",
                    document_id=contract.pk,
                    amount=value,
                    received_on=TODAY,
                    allocate="none",
                )
                inst = insts[target % len(insts)]
                with contextlib.suppress(ValidationFailed):  # over-filling is refused and changes nothing
                    payment_allocate(actor=personas.rep, payment=payment, allocations=[AllocationInput(inst.pk, value)])
            for payment in Payment.objects.all():
                allocated = Allocation.objects.filter(payment=payment).aggregate(s=Sum("amount"))["s"] or D(0)
                assert allocated == payment.allocated == payment.amount - payment.unallocated
                assert payment.unallocated >= 0
            for inst in Instalment.objects.filter(plan=plan):
                paid = Allocation.objects.filter(instalment=inst).aggregate(s=Sum("amount"))["s"] or D(0)
                assert paid == inst.paid <= inst.amount
                status = instalment_status(
                    amount=inst.amount, paid=inst.paid, due_date=inst.due_date, voided=False, today=TODAY
                )
                assert (status == InstalmentStatus.PAID) == (inst.paid == inst.amount)
                assert inst.is_open == (inst.paid < inst.amount)
            received = Payment.objects.aggregate(s=Sum("amount"))["s"]
            unallocated = sum(p.unallocated for p in Payment.objects.all())
            assert received - unallocated == sum(i.paid for i in Instalment.objects.filter(plan=plan))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: the requests cannot race")
def test_concurrent_instalments_never_exceed_the_total():
    personas = make_personas()
    order = make_order(personas.rep, total=D("100.00"))
    plan = plan_create(
        actor=personas.rep, kind="order", document_id=order.pk, instalments=[InstalmentInput("40.00", TODAY)]
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def add() -> None:
        try:
            barrier.wait(10)
            with translation.override("en"):
                instalment_add(actor=personas.rep, plan=plan, amount="60.00", due_date=TODAY)
            outcomes.append("added")
        except ValidationFailed:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=add) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["added", "refused"]
    assert Instalment.objects.filter(plan=plan).aggregate(s=Sum("amount"))["s"] == D("100.00")
    assert PaymentPlan.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: the requests cannot race")
def test_concurrent_allocations_never_overfill_an_instalment():
    personas = make_personas()
    order = make_order(personas.rep, total=D("100.00"))
    plan = plan_create(
        actor=personas.rep, kind="order", document_id=order.pk, instalments=[InstalmentInput("100.00", TODAY)]
    )
    inst = Instalment.objects.get(plan=plan)
    payments = [
        payment_record(
            actor=personas.rep, kind="order", document_id=order.pk, amount="70", received_on=TODAY, allocate="none"
        )
        for _ in range(2)
    ]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def allocate(payment: Payment) -> None:
        try:
            barrier.wait(10)
            with translation.override("en"):
                payment_allocate(actor=personas.rep, payment=payment, allocations=[AllocationInput(inst.pk, "70")])
            outcomes.append("allocated")
        except ValidationFailed:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=allocate, args=(p,)) for p in payments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["allocated", "refused"]
    inst.refresh_from_db()
    assert inst.paid == D("70.00")
