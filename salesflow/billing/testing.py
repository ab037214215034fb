"""Test helpers shared with the project-wide hostile-input tests (``tests/test_hostile.py``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from salesflow.billing.models import Instalment, Invoice, Payment, PaymentPlan
from salesflow.contracts.models import Contract, ContractStatus
from salesflow.parties.models import Account
from salesflow.users.models import User

#: The one id every ``/billing/…/{id}`` path resolves to in the hostile-input world.
HOSTILE_PK = 424_242


def hostile_world(owner: User, account: Account) -> int:
    """A signed contract of ``owner`` with a plan, an instalment, a payment and a draft
    invoice that all have the primary key :data:`HOSTILE_PK` (rows written directly)."""
    contract = Contract.objects.create(
        number="HT-2026-99999",
        title="hostile",
        account=account,
        owner=owner,
        status=ContractStatus.SIGNED,
        total=Decimal("1000.00"),
    )
    plan = PaymentPlan.objects.create(
        pk=HOSTILE_PK, contract=contract, account=account, owner=owner, currency=contract.currency
    )
    Instalment.objects.create(
        pk=HOSTILE_PK,
        plan=plan,
        account=account,
        owner=owner,
        currency=plan.currency,
        amount=Decimal("1000.00"),
        due_date=dt.date(2026, 1, 1),
    )
    Payment.objects.create(
        pk=HOSTILE_PK,
        number="HK-2026-99999",
        account=account,
        owner=owner,
        contract=contract,
        currency=plan.currency,
        amount=Decimal("10.00"),
        received_on=dt.date(2026, 1, 1),
    )
    Invoice.objects.create(pk=HOSTILE_PK, account=account, owner=owner, currency=plan.currency, total=Decimal("10.00"))
    return HOSTILE_PK
