"""The billing demo fills every ageing bucket and flags overpayments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from salesflow.billing.models import Invoice, Payment, PaymentPlan
from salesflow.billing.selectors import ageing_report
from salesflow.billing.tests.factories import make_contract, make_order
from salesflow.demo.issue9_billing import write_billing

pytestmark = pytest.mark.django_db


def test_write_billing(personas):
    today = dt.date(2026, 12, 3)
    for i in range(20):
        make_contract(personas.rep if i % 2 else personas.teammate, total=Decimal(100000 + i * 1000))
    for _i in range(4):
        make_order(personas.rep, total=Decimal("30000.00"))
    counts = write_billing(personas.all(), today)
    assert counts["plans"] == 24 and PaymentPlan.objects.count() == 24
    assert counts["payments"] == Payment.objects.count() > 10
    assert Invoice.objects.filter(status="issued").exists() and Invoice.objects.filter(status="red_reversed").exists()
    report = ageing_report(personas.admin, today=today)
    assert all(value > 0 for value in report.totals.values()), report.totals
    assert sum(1 for p in Payment.objects.all() if p.unallocated > 0) >= 2
    assert write_billing(personas.all(), today)["plans"] == 0
