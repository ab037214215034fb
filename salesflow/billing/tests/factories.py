"""Contracts, orders and plans for the billing tests (rows written directly: the contracts
and orders apps are built in parallel; only their 0001 models are relied on)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from salesflow.contracts.models import Contract, ContractStatus
from salesflow.orders.models import Order, OrderStatus
from salesflow.parties.models import Account
from salesflow.parties.tests.factories import make_account
from salesflow.users.models import User

_serial = itertools.count(1)


def make_contract(owner: User, account: Account | None = None, **fields: Any) -> Contract:
    n = next(_serial)
    fields.setdefault("number", f"HT-2026-{n:05d}")
    fields.setdefault("title", f"合同 {n}")
    fields.setdefault("status", ContractStatus.SIGNED)
    fields.setdefault("total", Decimal("100000.00"))
    fields.setdefault("signed_on", dt.date(2026, 1, 1))
    fields.setdefault("payment_terms", "30/60/10")
    return Contract.objects.create(owner=owner, account=account or make_account(owner), **fields)


def make_order(owner: User, account: Account | None = None, **fields: Any) -> Order:
    n = next(_serial)
    fields.setdefault("number", f"DD-2026-{n:05d}")
    fields.setdefault("status", OrderStatus.CONFIRMED)
    fields.setdefault("total", Decimal("50000.00"))
    return Order.objects.create(owner=owner, account=account or make_account(owner), **fields)
