"""The demo ends some contracts: the expiry job once, and two terminated early with their
plans' remaining receivable (issue 9, contracts)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from salesflow.billing.tests.factories import make_contract
from salesflow.contracts.models import Contract, ContractStatus
from salesflow.core.models import AuditEvent
from salesflow.demo.issue9_billing import write_billing
from salesflow.demo.issue9_contracts import end_contracts

pytestmark = pytest.mark.django_db


def test_end_contracts(personas):
    today = dt.date(2026, 12, 3)
    for i in range(6):
        make_contract(
            personas.rep if i % 2 else personas.teammate,
            total=Decimal(100000 + i * 1000),
            signed_on=dt.date(2026, 6, 1),
            start_date=dt.date(2026, 6, 1),
            end_date=dt.date(2026, 11, 30) if i < 2 else dt.date(2027, 12, 31),
            payment_terms="30/60/10 @ 0/200/400",
        )
    write_billing(personas.all(), today)
    expired, terminated = end_contracts(today)
    assert expired == 2 and 1 <= terminated <= 2  # contracts with instalments still to come
    statuses = sorted(Contract.objects.values_list("status", flat=True))
    assert statuses.count(ContractStatus.EXPIRED) == 2 and statuses.count(ContractStatus.TERMINATED) == terminated
    assert AuditEvent.objects.filter(verb="billing.plan.terminated").count() == terminated
    assert end_contracts(today)[0] == 0  # the expiry job again: nothing more
