"""Demo orders and deliveries (issue 9, orders): a year of orders through the orders
services — from the signed demo contracts (or, when the demo has no signed contracts, for
won deals with one line entered by hand) — with hand-offs to production, partial and full
deliveries, installations and customer acceptances with a file.

Dates are those of the business: each order is backdated to its source's date (its
``created_at``/``confirmed_at`` and the audit events' times), deliveries carry their own
``delivered_on``; what happened is what the services wrote.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from salesflow.attachments.samples import pdf_bytes
from salesflow.contracts.models import Contract, ContractStatus
from salesflow.core.models import AuditEvent
from salesflow.orders.choices import FulfilmentStatus
from salesflow.orders.models import Delivery, DeliveryLine, Order, OrderLine
from salesflow.orders.services import (
    delivery_create,
    delivery_record_installation,
    order_confirm,
    order_create_for_won_deal,
    order_create_from_contract,
    order_hand_off,
    order_record_acceptance,
)
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.users.models import User

MAX_ORDERS = 60
SEED = 9

#: the hand-entered line of the fallback (won deals without a signed contract)
_FALLBACK_ITEMS = [
    ("智能仓储管理系统 实施项目", "Smart warehouse system implementation", "项"),
    ("服务器与存储设备", "Servers and storage", "套"),
    ("年度运维服务", "Annual maintenance service", "年"),
    ("生产线数据采集终端", "Production data terminals", "台"),
]


def _aware(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _backdate(order: Order, day: date) -> None:
    """The order's timestamps and its audit events at the business date (the services
    wrote them "now")."""
    moment = _aware(day)
    Order.objects.filter(pk=order.pk).update(
        created_at=moment, confirmed_at=moment + timedelta(hours=2) if order.confirmed_at else None
    )
    AuditEvent.objects.filter(
        target_type=ContentType.objects.get_for_model(Order),
        target_id=order.pk,
        verb__in=["orders.order.created", "orders.order.confirmed"],
    ).update(created_at=moment)


def _sources(users: dict[str, User]) -> tuple[list[Any], str]:
    owners = [u.pk for u in users.values()]
    contracts = list(
        Contract.objects.filter(status=ContractStatus.SIGNED, owner_id__in=owners, current_version__isnull=False)
        .exclude(orders__isnull=False)
        .order_by("signed_on", "id")[:MAX_ORDERS]
    )
    if contracts:
        return contracts, "contract"
    deals = list(
        Opportunity.objects.filter(outcome=Outcome.WON, owner_id__in=owners)
        .exclude(orders__isnull=False)
        .order_by("closed_on", "id")[:MAX_ORDERS]
    )
    return deals, "deal"


def _source_day(source: Any, today: date) -> date:
    day = getattr(source, "signed_on", None) or getattr(source, "closed_on", None) or today
    return max(min(day, today), today - timedelta(days=365))


def write_orders(users: dict[str, User], today: date) -> dict[str, int]:
    """Orders for the demo's signed contracts (else for won deals), over the last year.

    Older orders are further along: accepted by the customer (with an acceptance file),
    fully delivered, partly delivered with the rest in production; recent ones are
    confirmed and in production, the newest still drafts. Returns counts per status."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data
    sources, kind = _sources(users)
    counts: dict[str, int] = {}
    for index, source in enumerate(sources):
        day = _source_day(source, today)
        age = (today - day).days
        with transaction.atomic():
            order = _create(source, kind, index)
            if order is None:
                continue
            _progress(order, day, age, today, rng)
            _backdate(order, day)
        order.refresh_from_db()
        counts[order.status] = counts.get(order.status, 0) + 1
    return counts


def _create(source: Any, kind: str, index: int) -> Order | None:
    owner = source.owner
    if kind == "contract":
        return order_create_from_contract(actor=owner, contract_id=source.pk)
    zh, en, unit = _FALLBACK_ITEMS[index % len(_FALLBACK_ITEMS)]
    amount = Decimal(source.amount) if source.amount else Decimal("100000.00")
    if amount <= 0:
        return None
    return order_create_for_won_deal(
        actor=owner,
        opportunity_id=source.pk,
        line={"name_zh": zh, "name_en": en, "unit": unit, "quantity": "1", "unit_price": str(amount), "tax_rate": "13"},
    )


def _proof(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(name), content_type="application/pdf")


def _progress(order: Order, day: date, age: int, today: date, rng: random.Random) -> None:
    actor = order.owner
    if age < 10 and rng.random() < 0.6:
        return  # the newest stay drafts, waiting for confirmation
    order_confirm(actor=actor, order=order)
    lead_days = rng.choice([14, 21, 30, 45])
    expected = day + timedelta(days=lead_days)
    order_hand_off(
        actor=actor,
        order=order,
        fulfilment_status=FulfilmentStatus.IN_PRODUCTION,
        expected_date=expected,
        note="已下达生产计划",
    )
    if age < lead_days:
        return  # in production
    lines = list(order.lines.order_by("position"))
    first_day = min(day + timedelta(days=lead_days), today)
    partial = rng.random() < 0.35 or age < lead_days + 20
    if partial:
        quantities = {line.pk: _part(line.quantity) for line in lines}
        order_hand_off(actor=actor, order=order, fulfilment_status=FulfilmentStatus.SHIPPED)
        delivery_create(actor=actor, order=order, delivered_on=first_day, lines=quantities, note="首批发货")
        if age < lead_days + 20 or rng.random() < 0.5:
            order_hand_off(
                actor=actor,
                order=order,
                fulfilment_status=FulfilmentStatus.IN_PRODUCTION,
                expected_date=first_day + timedelta(days=20),
                note="余量排产中",
            )
            return
        rest_day = min(first_day + timedelta(days=rng.choice([7, 14, 20])), today)
        order.refresh_from_db()
        rest = {line.pk: line.open_quantity for line in order.lines.all() if line.open_quantity > 0}
        delivery = delivery_create(actor=actor, order=order, delivered_on=rest_day, lines=rest, note="余量发货")
    else:
        order_hand_off(actor=actor, order=order, fulfilment_status=FulfilmentStatus.SHIPPED)
        rest_day = first_day
        delivery = delivery_create(
            actor=actor, order=order, delivered_on=first_day, lines={line.pk: line.quantity for line in lines}
        )
    if rng.random() < 0.6:
        delivery_record_installation(
            actor=actor,
            delivery=delivery,
            installed_on=min(rest_day + timedelta(days=3), today),
            upload=_proof("安装调试记录.pdf"),
            note="安装调试完成",
        )
    if age > lead_days + 45 and rng.random() < 0.7:
        order_record_acceptance(
            actor=actor,
            order=order,
            accepted_on=min(rest_day + timedelta(days=rng.choice([7, 10, 15])), today),
            upload=_proof("客户验收单.pdf"),
            note="客户验收合格",
        )


def _part(quantity: Decimal) -> Decimal:
    """About half of a line, in whole units when the line allows it (at least something)."""
    half = (quantity / 2).quantize(Decimal("1")) if quantity >= 2 else (quantity / 2).quantize(Decimal("0.001"))
    return half if Decimal(0) < half < quantity else quantity


def demo_orders(users: QuerySet[User]) -> QuerySet[Order]:
    """The demo's orders: owned by demo users or on their accounts."""
    return Order.objects.filter(Q(owner__in=users) | Q(account__owner__in=users))


def delete_orders_demo(users: QuerySet[User]) -> int:
    """Remove the demo's orders with their deliveries (before the accounts, deals, contracts
    and users they point at with ``PROTECT``). Returns the number of orders removed."""
    ids = list(demo_orders(users).values_list("pk", flat=True))
    DeliveryLine.objects.filter(delivery__order_id__in=ids).delete()
    Delivery.objects.filter(order_id__in=ids).delete()
    OrderLine.objects.filter(order_id__in=ids).delete()
    return Order.objects.filter(pk__in=ids).delete()[1].get("orders.Order", 0)
