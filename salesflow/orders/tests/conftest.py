from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from salesflow.contracts.models import Contract
from salesflow.orders.models import Order
from salesflow.orders.services import order_confirm, order_create_from_contract
from salesflow.orders.tests.factories import make_contract
from salesflow.users.testing import Personas


@pytest.fixture(autouse=True)
def attachments_dir(settings: Any, tmp_path: Any) -> Any:
    """Every test stores its files in its own directory."""
    settings.SALESFLOW_ATTACHMENTS_DIR = tmp_path / "attachments"
    return settings.SALESFLOW_ATTACHMENTS_DIR


@pytest.fixture
def contract(personas: Personas) -> Contract:
    return make_contract(personas.rep)


@pytest.fixture
def order(personas: Personas, contract: Contract) -> Order:
    """A draft order of ``rep`` from a signed contract (3 racks, 2.5 days of installation)."""
    return order_create_from_contract(actor=personas.rep, contract_id=contract.pk)


@pytest.fixture
def confirmed(personas: Personas, order: Order) -> Order:
    return order_confirm(actor=personas.rep, order=order)


@pytest.fixture
def lines_of() -> Callable[[Order], list[Any]]:
    return lambda order: list(order.lines.order_by("position"))
