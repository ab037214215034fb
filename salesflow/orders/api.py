"""JSON API of orders and deliveries (``/api/v1/orders``): list (filters, sorts, cursor
pages), create from a signed contract or an accepted quote, draft line edits, confirmation,
cancellation, hand-off, deliveries (record, void, installation) and customer acceptance —
through the same services as the pages."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.core.errors import ValidationFailed
from salesflow.core.keyset import api_page
from salesflow.core.money import format_amount
from salesflow.orders.models import Delivery, Order, OrderLine
from salesflow.orders.permissions import get_delivery_for_user, get_order_for_user
from salesflow.orders.schemas import (
    AcceptanceIn,
    DeliveryIn,
    DeliveryOut,
    InstallationIn,
    LineUpdateIn,
    OrderCreateIn,
    OrderDetailOut,
    OrderFilters,
    OrderHandOffIn,
    OrderLineOut,
    OrderPage,
    OrderReasonIn,
)
from salesflow.orders.selectors import OrderFilters as Filters
from salesflow.orders.selectors import deliveries_of, order_detail, order_list
from salesflow.orders.services import (
    delivery_create,
    delivery_record_installation,
    delivery_void,
    order_cancel,
    order_confirm,
    order_create_from_contract,
    order_create_from_quote,
    order_hand_off,
    order_line_update,
    order_record_acceptance,
)
from salesflow.users.models import User

router = Router(tags=["orders"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _q(value: Any) -> str:
    return f"{value:f}"


def line_out(line: OrderLine, currency: str) -> dict[str, Any]:
    return {
        "id": line.pk,
        "position": line.position,
        "product_id": line.product_id,
        "code": line.code,
        "name_zh": line.name_zh,
        "name_en": line.name_en,
        "unit": line.unit,
        "quantity": _q(line.quantity),
        "delivered_quantity": _q(line.delivered_quantity),
        "open_quantity": _q(line.open_quantity),
        "unit_price": format_amount(line.unit_price, currency),
        "discount_percent": _q(line.discount_percent),
        "tax_rate": _q(line.tax_rate),
        "gross": format_amount(line.gross, currency),
        "discount": format_amount(line.discount, currency),
        "net": format_amount(line.net, currency),
        "tax": format_amount(line.tax, currency),
        "total": format_amount(line.total, currency),
    }


def delivery_out(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "number": delivery.number,
        "order_id": delivery.order_id,
        "status": delivery.status,
        "delivered_on": delivery.delivered_on,
        "note": delivery.note,
        "lines": [{"order_line_id": row.order_line_id, "quantity": _q(row.quantity)} for row in delivery.lines.all()],
        "created_by_id": delivery.created_by_id,
        "created_at": delivery.created_at,
        "voided_at": delivery.voided_at,
        "void_reason": delivery.void_reason,
        "installed_on": delivery.installed_on,
        "installation_note": delivery.installation_note,
        "installation_attachment_id": delivery.installation_file_id,
    }


def order_out(order: Order) -> dict[str, Any]:
    c = order.currency
    return {
        "id": order.pk,
        "number": order.number,
        "status": order.status,
        "fulfilment_status": order.fulfilment_status,
        "expected_date": order.expected_date,
        "account_id": order.account_id,
        "account_name": order.account.name,
        "owner_id": order.owner_id,
        "owner_name": str(order.owner),
        "opportunity_id": order.opportunity_id,
        "contract_id": order.contract_id,
        "quote_id": order.quote_id,
        "currency": c,
        "prices_include_tax": order.prices_include_tax,
        "subtotal": format_amount(order.subtotal, c),
        "discount": format_amount(order.discount, c),
        "net": format_amount(order.net, c),
        "tax": format_amount(order.tax, c),
        "total": format_amount(order.total, c),
        "confirmed_at": order.confirmed_at,
        "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason,
        "accepted_on": order.accepted_on,
        "acceptance_note": order.acceptance_note,
        "acceptance_attachment_id": order.acceptance_file_id,
        "created_at": order.created_at,
    }


def _detail(user: User, order: Order) -> dict[str, Any]:
    full = order_detail(user, order)
    return {
        **order_out(full),
        "lines": [line_out(line, full.currency) for line in full.lines.all()],
        "deliveries": [delivery_out(d) for d in full.deliveries.all()],
    }


@router.get("", response=OrderPage, summary="Orders the caller may see (filters, sort, cursor pages)")
@router.get("/", response=OrderPage, include_in_schema=False)
def list_orders(request: HttpRequest, filters: Query[OrderFilters]) -> dict[str, Any]:
    qs = order_list(
        _user(request),
        Filters(
            status=filters.status or "",
            fulfilment_status=filters.fulfilment_status or "",
            owner_id=filters.owner_id,
            account_id=filters.account_id,
            expected_from=filters.expected_from,
            expected_to=filters.expected_to,
            q=filters.q,
        ),
        sort=filters.sort,
    )
    page = api_page(qs, cursor=filters.cursor, limit=filters.limit, offset=filters.offset)
    page["items"] = [order_out(o) for o in page["items"]]
    return page


@router.post(
    "", response={201: OrderDetailOut}, summary="Create a draft order from a signed contract or an accepted quote"
)
def create_order(request: HttpRequest, payload: OrderCreateIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    if payload.contract_id is not None:
        order = order_create_from_contract(actor=user, contract_id=payload.contract_id)
    else:
        order = order_create_from_quote(actor=user, quote_id=payload.quote_id)
    return 201, _detail(user, order)


@router.get("/{int:order_id}", response=OrderDetailOut, summary="An order with its lines and deliveries")
def get_order(request: HttpRequest, order_id: int) -> dict[str, Any]:
    user = _user(request)
    return _detail(user, get_order_for_user(user, order_id))


@router.patch(
    "/{int:order_id}/lines/{int:line_id}",
    response=OrderLineOut,
    summary="Change a line of a draft order (409 once confirmed)",
)
def update_line(request: HttpRequest, order_id: int, line_id: int, payload: LineUpdateIn) -> dict[str, Any]:
    user = _user(request)
    order = get_order_for_user(user, order_id)
    line = order.lines.filter(pk=line_id if 0 < line_id < 2**63 else 0).first()
    if line is None:
        raise Http404("line not found")
    changes = payload.model_dump(exclude_unset=True)
    if any(value is None for value in changes.values()):
        raise ValidationFailed(
            _("The line could not be saved."),
            field_errors={k: [_("This field is required.")] for k, v in changes.items() if v is None},
        )
    line = order_line_update(actor=user, line=line, **changes)
    return line_out(line, order.currency)


@router.post("/{int:order_id}/confirm", response=OrderDetailOut, summary="Confirm a draft order (freezes its lines)")
def confirm(request: HttpRequest, order_id: int) -> dict[str, Any]:
    user = _user(request)
    order = order_confirm(actor=user, order=get_order_for_user(user, order_id))
    return _detail(user, order)


@router.post("/{int:order_id}/cancel", response=OrderDetailOut, summary="Cancel an order (nothing delivered yet)")
def cancel(request: HttpRequest, order_id: int, payload: OrderReasonIn) -> dict[str, Any]:
    user = _user(request)
    order = order_cancel(actor=user, order=get_order_for_user(user, order_id), reason=payload.reason)
    return _detail(user, order)


@router.post(
    "/{int:order_id}/hand-off",
    response=OrderDetailOut,
    summary="Hand-off to production: fulfilment status and expected date (emits orders.order.handed_off)",
)
def hand_off(request: HttpRequest, order_id: int, payload: OrderHandOffIn) -> dict[str, Any]:
    user = _user(request)
    order = get_order_for_user(user, order_id)
    given = payload.model_fields_set
    kwargs: dict[str, Any] = {"note": payload.note}
    if "fulfilment_status" in given:
        if payload.fulfilment_status is None:
            raise ValidationFailed(
                _("The hand-off could not be saved."),
                field_errors={"fulfilment_status": [_("This field is required.")]},
            )
        kwargs["fulfilment_status"] = payload.fulfilment_status
    if "expected_date" in given:
        kwargs["expected_date"] = payload.expected_date
    order = order_hand_off(actor=user, order=order, **kwargs)
    return _detail(user, order)


@router.get("/{int:order_id}/deliveries", response=list[DeliveryOut], summary="The deliveries of an order")
def list_deliveries(request: HttpRequest, order_id: int) -> list[dict[str, Any]]:
    user = _user(request)
    order = get_order_for_user(user, order_id)
    return [delivery_out(d) for d in deliveries_of(user, order)]


@router.post(
    "/{int:order_id}/deliveries",
    response={201: DeliveryOut},
    summary="Record a (partial) delivery; 400 names a line whose quantity exceeds what is open",
)
def create_delivery(request: HttpRequest, order_id: int, payload: DeliveryIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    order = get_order_for_user(user, order_id)
    lines: dict[object, object] = {}
    for row in payload.lines:
        if row.order_line_id in lines:
            raise ValidationFailed(
                _("The delivery could not be recorded."),
                field_errors={"lines": [_("Each order line may appear once.")]},
            )
        lines[row.order_line_id] = str(row.quantity)
    delivery = delivery_create(
        actor=user, order=order, delivered_on=payload.delivered_on, lines=lines, note=payload.note
    )
    return 201, delivery_out(delivery)


@router.get("/deliveries/{int:delivery_id}", response=DeliveryOut, summary="A delivery")
def get_delivery(request: HttpRequest, delivery_id: int) -> dict[str, Any]:
    return delivery_out(get_delivery_for_user(_user(request), delivery_id))


@router.post("/deliveries/{int:delivery_id}/void", response=DeliveryOut, summary="Void a delivery (a correction)")
def void_delivery(request: HttpRequest, delivery_id: int, payload: OrderReasonIn) -> dict[str, Any]:
    user = _user(request)
    delivery = delivery_void(actor=user, delivery=get_delivery_for_user(user, delivery_id), reason=payload.reason)
    return delivery_out(delivery)


@router.post(
    "/deliveries/{int:delivery_id}/installation",
    response=DeliveryOut,
    summary="Record the installation of a delivery with a date and a file attached to the order",
)
def installation(request: HttpRequest, delivery_id: int, payload: InstallationIn) -> dict[str, Any]:
    user = _user(request)
    delivery = delivery_record_installation(
        actor=user,
        delivery=get_delivery_for_user(user, delivery_id),
        installed_on=payload.installed_on,
        attachment_id=payload.attachment_id,
        note=payload.note,
    )
    return delivery_out(delivery)


@router.post(
    "/{int:order_id}/acceptance",
    response=OrderDetailOut,
    summary="Record the customer's acceptance of a delivered order with a date and a file attached to the order",
)
def acceptance(request: HttpRequest, order_id: int, payload: AcceptanceIn) -> dict[str, Any]:
    user = _user(request)
    order = order_record_acceptance(
        actor=user,
        order=get_order_for_user(user, order_id),
        accepted_on=payload.accepted_on,
        attachment_id=payload.attachment_id,
        note=payload.note,
    )
    return _detail(user, order)
