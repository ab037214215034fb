"""The demo's orders (issue 9, orders): from signed contracts, else for won deals, a year of
them in every state, written through the services; removable with the demo."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from salesflow.demo.issue9_orders import delete_orders_demo, write_orders
from salesflow.orders.models import Delivery, Order, OrderStatus
from salesflow.orders.tests.factories import make_contract
from salesflow.sales.models import Opportunity
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.models import User
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _files(settings: Any, tmp_path: Any) -> None:
    settings.SALESFLOW_ATTACHMENTS_DIR = tmp_path / "attachments"


def test_orders_from_signed_contracts_over_a_year(personas: Personas) -> None:
    today = date(2026, 12, 1)
    for i in range(24):
        contract = make_contract(personas.rep)
        contract.signed_on = today - timedelta(days=15 * i)
        contract.save()
    users = {"rep": personas.rep}
    counts = write_orders(users, today)
    assert sum(counts.values()) == 24 == Order.objects.filter(contract__isnull=False).count()
    assert {OrderStatus.ACCEPTED, OrderStatus.DELIVERED, OrderStatus.PARTLY_DELIVERED, OrderStatus.CONFIRMED} <= set(
        counts
    )
    accepted = Order.objects.filter(status=OrderStatus.ACCEPTED)
    assert all(o.acceptance_file_id for o in accepted)
    assert Order.objects.filter(fulfilment_status="in_production").exists()
    oldest = Order.objects.order_by("created_at").first()
    assert oldest is not None and oldest.created_at.date() <= today - timedelta(days=300)
    for order in Order.objects.prefetch_related("lines"):
        assert all(0 <= ln.delivered_quantity <= ln.quantity for ln in order.lines.all())
    assert delete_orders_demo(User.objects.filter(pk=personas.rep.pk)) == 24
    assert not Delivery.objects.exists()


def test_fallback_orders_for_won_deals(personas: Personas) -> None:
    today = date(2026, 12, 1)
    for i in range(6):
        opp = make_opportunity(personas.rep, amount="88000")
        Opportunity.objects.filter(pk=opp.pk).update(outcome="won", closed_on=today - timedelta(days=60 * i))
    counts = write_orders({"rep": personas.rep}, today)
    assert sum(counts.values()) == 6
    order = Order.objects.order_by("created_at").first()
    assert order is not None and order.lines.count() == 1 and order.contract_id is None
    assert order.lines.get().total == order.total
