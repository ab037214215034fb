"""Reads of the orders app: the order list (filters, whitelisted sorts served by indexes,
keyset pages), an order with its lines and deliveries, and the account page's panel.

Query shape lives here; templates and schemas never query per row. The list inner-joins
nothing: account and owner come by ``select_related`` of FK columns the page already reads
(one query), so the list costs a fixed number of queries whatever the page size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import F, Prefetch, QuerySet

from salesflow.orders.choices import FulfilmentStatus
from salesflow.orders.models import Delivery, DeliveryLine, Order, OrderLine, OrderStatus
from salesflow.orders.permissions import deliveries_visible_to, orders_visible_to
from salesflow.users.models import User

PAGE_SIZE = 25
ACCOUNT_PANEL_LIMIT = 20

#: public sort key → ascending ``order_by`` fields (each served by an index of ``Order``)
SORTS: dict[str, Sequence[str]] = {
    "created": ["created_at", "id"],
    "expected_date": ["expected_date", "id"],
    "total": ["total", "id"],
    "number": ["number"],
}
DEFAULT_SORT = "-created"


@dataclass(frozen=True)
class OrderFilters:
    """The list's filters (each optional), as parsed by the form or the API schema."""

    status: str = ""
    fulfilment_status: str = ""
    owner_id: int | None = None
    account_id: int | None = None
    expected_from: date | None = None
    expected_to: date | None = None
    q: str = ""


def order_list(user: User, filters: OrderFilters, *, sort: str = DEFAULT_SORT) -> QuerySet[Order]:
    """The orders ``user`` may see, filtered and sorted (unknown sorts fall back to newest first)."""
    qs = orders_visible_to(user)
    if filters.status in OrderStatus.values:
        qs = qs.filter(status=filters.status)
    if filters.fulfilment_status in FulfilmentStatus.values:
        qs = qs.filter(fulfilment_status=filters.fulfilment_status)
    if filters.owner_id is not None:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.account_id is not None:
        qs = qs.filter(account_id=filters.account_id)
    if filters.expected_from is not None:
        qs = qs.filter(expected_date__gte=filters.expected_from)
    if filters.expected_to is not None:
        qs = qs.filter(expected_date__lte=filters.expected_to)
    term = filters.q.strip()[:30]
    if term:
        qs = qs.filter(number__icontains=term)
    desc = sort.startswith("-")
    base = sort.lstrip("-")
    if base not in SORTS:
        desc, base = True, DEFAULT_SORT.lstrip("-")
    fields = SORTS[base]
    order_by: list[Any] = []
    for name in fields:
        if name == "expected_date":
            # a nullable sort column states where its NULLs go (keyset pages on both databases)
            order_by.append(F(name).desc(nulls_last=True) if desc else F(name).asc(nulls_last=True))
        else:
            order_by.append(f"-{name}" if desc else name)
    return qs.select_related("account", "owner").order_by(*order_by)


def order_detail(user: User, order: Order) -> Order:
    """``order`` with its lines and deliveries (with their lines) loaded: a fixed number of
    queries whatever the number of lines and deliveries."""
    lines = Prefetch("lines", queryset=OrderLine.objects.order_by("position", "id"))
    deliveries = Prefetch(
        "deliveries",
        queryset=Delivery.objects.select_related("created_by", "installation_file").prefetch_related(
            Prefetch("lines", queryset=DeliveryLine.objects.select_related("order_line"))
        ),
    )
    return (
        orders_visible_to(user)
        .select_related("account", "owner", "opportunity", "contract", "quote", "acceptance_file")
        .prefetch_related(lines, deliveries)
        .get(pk=order.pk)
    )


def deliveries_of(user: User, order: Order) -> QuerySet[Delivery]:
    """The deliveries of ``order`` (which the caller resolved as visible), newest first."""
    return (
        deliveries_visible_to(user)
        .filter(order=order)
        .select_related("created_by", "installation_file")
        .prefetch_related(Prefetch("lines", queryset=DeliveryLine.objects.select_related("order_line")))
        .order_by("-delivered_on", "-id")
    )


def account_orders(user: User, account_id: int) -> list[Order]:
    """The account page's panel: up to ``ACCOUNT_PANEL_LIMIT + 1`` visible orders, newest first."""
    qs = orders_visible_to(user).filter(account_id=account_id).select_related("owner").order_by("-created_at", "-id")
    return list(qs[: ACCOUNT_PANEL_LIMIT + 1])
