"""Concurrent deliveries on PostgreSQL: the sum delivered never exceeds what was ordered, and
two creators of an order for one contract get one order and one 409."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import Sum
from django.utils import translation

from salesflow.core.errors import Conflict, ValidationFailed
from salesflow.orders.models import Delivery, DeliveryLine, Order
from salesflow.orders.services import delivery_create, order_confirm, order_create_from_contract
from salesflow.orders.tests.factories import make_contract
from salesflow.users.testing import make_personas

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: nothing can race"),
]


def _race(count: int, work: Any) -> list[str]:
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(10)
            with translation.override("en"):
                work(index)
            result = "ok"
        except (ValidationFailed, Conflict) as exc:
            result = type(exc).__name__
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_concurrent_deliveries_never_exceed_the_order() -> None:
    personas = make_personas()
    order = order_confirm(
        actor=personas.rep,
        order=order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk),
    )
    rack = order.lines.order_by("position").first()
    assert rack is not None and rack.quantity == Decimal("3.000")
    actors = [personas.rep, personas.assistant, personas.manager, personas.admin] * 2

    def deliver(index: int) -> None:
        delivery_create(actor=actors[index], order=order, delivered_on="2026-05-01", lines={rack.pk: "1"})

    outcomes = _race(8, deliver)
    assert outcomes == ["ValidationFailed"] * 5 + ["ok"] * 3
    rack.refresh_from_db()
    assert rack.delivered_quantity == Decimal("3.000")
    total = DeliveryLine.objects.filter(order_line=rack).aggregate(s=Sum("quantity"))["s"]
    assert total == Decimal("3.000")  # stored in thousandths: an exact integer sum
    assert Delivery.objects.filter(order=order).count() == 3
    assert sorted(Delivery.objects.values_list("number", flat=True)) == [
        "FH-2026-00001",
        "FH-2026-00002",
        "FH-2026-00003",
    ]
    order.refresh_from_db()
    assert order.status == "partly_delivered"


def test_concurrent_orders_for_one_contract() -> None:
    personas = make_personas()
    contract = make_contract(personas.rep)
    actors = [personas.rep, personas.assistant, personas.manager, personas.admin]
    outcomes = _race(4, lambda i: order_create_from_contract(actor=actors[i], contract_id=contract.pk))
    assert outcomes == ["Conflict"] * 3 + ["ok"]
    assert Order.objects.filter(contract=contract).count() == 1
