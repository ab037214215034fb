"""Event types of the orders app (labels: ``OrdersConfig.ready``).

``orders.order.handed_off`` is the hand-off event other systems consume (production,
fulfilment, ERP): subscribe with ``core.events.subscribe`` / ``subscribe_task``. Its payload
is a stable contract — keys are only ever added — and is documented in
``docs/architecture.md`` ("Orders and delivery").
"""

from __future__ import annotations

from salesflow.core.events import EventType, declare

_ORDER = {"order_id": "int", "number": "str", "status": "str"}

declare(
    EventType(
        "orders.order.created",
        {
            **_ORDER,
            "source": "str",
            "contract_id": "int|null",
            "quote_id": "int|null",
            "total": "decimal",
            "currency": "str",
            "lines": "int",
        },
        description="An order was created (draft) from a signed contract or an accepted quote.",
    ),
    EventType(
        "orders.order.line_updated",
        {**_ORDER, "line_id": "int", "changes": "changes"},
        description="A line of a draft order was changed (quantity, price, discount, tax rate).",
    ),
    EventType(
        "orders.order.confirmed",
        {**_ORDER, "total": "decimal", "currency": "str"},
        description="The order was confirmed; its lines are frozen from now on.",
    ),
    EventType(
        "orders.order.cancelled",
        {**_ORDER, "reason": "str", "previous_status": "str"},
        description="The order was cancelled (only while nothing was delivered), with a reason.",
    ),
    EventType(
        "orders.order.handed_off",
        {
            **_ORDER,
            "account_id": "int",
            "owner_id": "int",
            "fulfilment_status": "str",
            "previous_fulfilment_status": "str",
            "expected_date": "date|null",
            "previous_expected_date": "date|null",
            "note": "str",
            "changed_at": "str",
        },
        description=(
            "The order's hand-off to production/fulfilment changed: fulfilment_status "
            "(not_started, in_production, ready_to_ship, shipped) and/or expected_date (ISO date)."
        ),
    ),
    EventType(
        "orders.order.status_changed",
        {**_ORDER, "previous_status": "str"},
        description="The derived status of the order changed (confirmed, partly_delivered, delivered, accepted…).",
    ),
    EventType(
        "orders.order.accepted",
        {**_ORDER, "accepted_on": "date", "attachment_id": "int", "file_name": "str", "note": "str"},
        description="The customer's acceptance (验收) of a delivered order was recorded with a date and a file.",
    ),
    EventType(
        "orders.delivery.recorded",
        {**_ORDER, "delivery_id": "int", "delivery_number": "str", "delivered_on": "date", "lines": "list"},
        description="A delivery was recorded; lines = [{order_line_id, quantity}] (quantities as decimal strings).",
    ),
    EventType(
        "orders.delivery.voided",
        {**_ORDER, "delivery_id": "int", "delivery_number": "str", "reason": "str"},
        description="A delivery was voided (a correction); its quantities no longer count as delivered.",
    ),
    EventType(
        "orders.delivery.installed",
        {
            **_ORDER,
            "delivery_id": "int",
            "delivery_number": "str",
            "installed_on": "date",
            "attachment_id": "int",
            "file_name": "str",
            "note": "str",
        },
        description="Installation (安装) of a delivery was recorded with a date and a file.",
    ),
)
