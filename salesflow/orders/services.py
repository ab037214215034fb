"""Writes of the orders app: orders from signed contracts or accepted quotes, confirmation,
cancellation, the hand-off to production, deliveries (and their voiding), installation and
customer acceptance.

Guarantees (every service):

- takes ``actor`` and checks it itself: the order (or its source document) must be visible
  (``Http404`` otherwise) and writable by the actor's ownership scope (``Forbidden``); ids
  the caller passes (order lines, attachments) must belong to the order (400);
- validates everything before writing (``ValidationFailed`` naming the field); refuses
  actions the order's state no longer allows with ``Conflict`` (409);
- runs in one transaction and records one declared audit event
  (:mod:`salesflow.orders.events`) in it;
- never sets ``Order.status`` by hand: :func:`order_refresh_status` derives it
  (:func:`salesflow.orders.status.derive_status`) after every change it depends on.

Delivered quantities can never exceed the ordered ones: :func:`delivery_create` locks the
order row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite transactions are ``IMMEDIATE``, one
writer at a time), re-reads the lines' delivered quantities under the lock, refuses any
excess naming the line and the open quantity, and the database's check constraint
``orders_line_not_over_delivered`` backs it up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.attachments.models import Attachment
from salesflow.attachments.services import Upload, attachment_add
from salesflow.contracts.models import Contract, ContractStatus
from salesflow.core.audit import in_every_language, record_event
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.doctotals import LineInput, TotalTooLarge, document_totals, line_totals
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.money import AmountError, parse_amount
from salesflow.core.numbering import format_document_number, next_document_number
from salesflow.core.quantities import QuantityField, parse_percent, parse_quantity
from salesflow.orders.choices import DeliveryStatus, FulfilmentStatus
from salesflow.orders.models import Delivery, DeliveryLine, Order, OrderLine, OrderStatus
from salesflow.orders.permissions import can_write_order, get_contract_for_order, get_quote_for_order
from salesflow.orders.status import derive_status
from salesflow.quotes.models import Quote, QuoteStatus
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.sales.permissions import get_opportunity_for_user
from salesflow.users.models import User
from salesflow.users.policy import owned_or_shared_q

NOTE_LENGTH = 2000
REASON_LENGTH = 1000
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2100, 12, 31)
#: at most this many lines in one delivery (an order has few; a hostile request many)
MAX_DELIVERY_LINES = 500

ORDER_PREFIX = "DD"
DELIVERY_PREFIX = "FH"


# --- small parsers ---------------------------------------------------------------------------


def clean_text(value: object, field: str, *, max_length: int, required: bool = False) -> str:
    """Trimmed text without NUL/control characters (newlines and tabs allowed), at most
    ``max_length`` characters; ``ValidationFailed`` naming ``field``."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(_("The input is not valid."), field_errors={field: [_("Enter text.")]})
    text = value.strip()
    if any((ord(c) < 32 and c not in "\n\r\t") or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise ValidationFailed(
            _("The input is not valid."),
            field_errors={field: [_("Control characters (such as NUL bytes) are not allowed here.")]},
        )
    if len(text) > max_length:
        raise ValidationFailed(
            _("The input is not valid."),
            field_errors={field: [_("At most %(n)s characters.") % {"n": max_length}]},
        )
    if required and not text:
        raise ValidationFailed(_("The input is not valid."), field_errors={field: [_("This field is required.")]})
    return text


def clean_date(value: object, field: str, *, required: bool = True) -> date | None:
    """A date between 2000-01-01 and 2100-12-31 (``date`` or ISO text)."""
    if value is None or value == "":
        if required:
            raise ValidationFailed(_("The input is not valid."), field_errors={field: [_("Enter a date.")]})
        return None
    day: date | None = None
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and len(value) <= 10:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            day = None
    if day is None or not MIN_DATE <= day <= MAX_DATE:
        raise ValidationFailed(
            _("The input is not valid."),
            field_errors={field: [_("Enter a date between 2000-01-01 and 2100-12-31.")]},
        )
    return day


def _writable(actor: User, order: Order) -> None:
    if not can_write_order(actor, order):
        raise Forbidden(_("You may not change this order."))


def _lock(order: Order) -> Order:
    """The order's row, locked until the transaction ends (PostgreSQL; SQLite: the write lock)."""
    return Order.objects.select_for_update().get(pk=order.pk)


def _order_data(order: Order) -> dict[str, Any]:
    return {"order_id": order.pk, "number": order.number, "status": order.status}


# --- the derived status ----------------------------------------------------------------------


def order_refresh_status(*, actor: User | None, order: Order) -> Order:
    """Store the status :func:`~salesflow.orders.status.derive_status` gives for ``order``'s
    facts (the one place ``Order.status`` is written). A change is audited
    (``orders.order.status_changed``). Call inside the transaction that changed the facts."""
    lines = list(order.lines.values_list("quantity", "delivered_quantity"))
    status = derive_status(
        confirmed=order.confirmed_at is not None,
        cancelled=order.cancelled_at is not None,
        accepted=order.accepted_on is not None,
        lines=lines,
    )
    if status != order.status:
        previous = order.status
        order.status = status
        order.save(update_fields=["status", "updated_at"])
        record_event(
            actor=actor,
            verb="orders.order.status_changed",
            target=order,
            data={
                **_order_data(order),
                "previous_status": previous,
                "summary": in_every_language(
                    lambda: (
                        _("%(old)s → %(new)s") % {"old": OrderStatus(previous).label, "new": OrderStatus(status).label}
                    )
                ),
            },
            related=[order.account],
        )
    return order


# --- creating orders -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    kind: str
    contract: Contract | None
    quote: Quote | None
    lines: Sequence[Any]
    prices_include_tax: bool


def _copy_lines(order: Order, source_lines: Sequence[Any]) -> list[OrderLine]:
    lines = [
        OrderLine(
            order=order,
            position=index,
            product_id=src.product_id,
            code=src.code,
            name_zh=src.name_zh,
            name_en=src.name_en,
            unit=src.unit,
            quantity=src.quantity,
            unit_price=src.unit_price,
            discount_percent=src.discount_percent,
            tax_rate=src.tax_rate,
        )
        for index, src in enumerate(source_lines, start=1)
    ]
    _apply_totals(order, lines)
    return lines


def _apply_totals(order: Order, lines: Sequence[OrderLine]) -> None:
    """Line figures and document totals from :mod:`salesflow.core.doctotals` (the one rule)."""
    try:
        totals = document_totals(
            [LineInput(ln.quantity, ln.unit_price, ln.discount_percent, ln.tax_rate) for ln in lines],
            order.currency,
            prices_include_tax=order.prices_include_tax,
        )
    except TotalTooLarge:
        raise ValidationFailed(
            _("The order's total is larger than the largest amount allowed."),
            field_errors={"lines": [_("The total is too large.")]},
        ) from None
    for line, figures in zip(lines, totals.lines, strict=True):
        line.gross, line.discount, line.net = figures.gross, figures.discount, figures.net
        line.tax, line.total = figures.tax, figures.total
    order.subtotal, order.discount, order.net = totals.subtotal, totals.discount, totals.net
    order.tax, order.total = totals.tax, totals.total


def _create(*, actor: User, source: _Source, owner: User, account: Any, opportunity: Any, currency: str) -> Order:
    if not source.lines:
        raise ValidationFailed(
            _("The document has no lines to order."), field_errors={source.kind: [_("The document has no lines.")]}
        )
    today = timezone.localdate()
    number = format_document_number(ORDER_PREFIX, today.year, next_document_number("order", today.year))
    order = Order(
        number=number,
        account=account,
        owner=owner,
        opportunity=opportunity,
        contract=source.contract,
        quote=source.quote,
        currency=currency,
        prices_include_tax=source.prices_include_tax,
        status=OrderStatus.DRAFT,
    )
    lines = _copy_lines(order, source.lines)
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError:
        # the partial unique constraint: another live order for this document, made meanwhile
        raise Conflict(
            _("This document already has an order."), field_errors={f"{source.kind}_id": [_("Already ordered.")]}
        ) from None
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)
    record_event(
        actor=actor,
        verb="orders.order.created",
        target=order,
        data={
            **_order_data(order),
            "source": source.kind,
            "contract_id": source.contract.pk if source.contract else None,
            "quote_id": source.quote.pk if source.quote else None,
            "total": order.total,
            "currency": order.currency,
            "lines": len(lines),
            "summary": source.contract.number if source.contract else source.quote.number if source.quote else "",
        },
        related=[order.account, order.opportunity, source.contract, source.quote],
    )
    return order


def _live_order_exists(**filters: Any) -> bool:
    return Order.objects.filter(**filters).exclude(status=OrderStatus.CANCELLED).exists()


@transaction.atomic
def order_create_from_contract(*, actor: User, contract_id: object) -> Order:
    """A draft order from a **signed** contract: the lines of its current version copied
    exactly (codes, names, units, quantities, prices, discounts, tax rates; figures from
    ``doctotals``), the contract's account, owner, opportunity and currency.

    404 unseen contract; 403 when the actor may not write the contract owner's records;
    409 when the contract is not signed, has no current version or already has a live
    (not cancelled) order."""
    contract = get_contract_for_order(actor, contract_id, write=True)
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.status != ContractStatus.SIGNED:
        raise Conflict(
            _("Only a signed contract can be ordered."),
            field_errors={"contract_id": [_("The contract is not signed.")]},
        )
    version = contract.current_version
    if version is None:
        raise Conflict(_("The contract has no current version."), field_errors={"contract_id": [_("No version.")]})
    if _live_order_exists(contract=contract):
        raise Conflict(_("This document already has an order."), field_errors={"contract_id": [_("Already ordered.")]})
    source = _Source(
        kind="contract",
        contract=contract,
        quote=contract.quote,
        lines=list(version.lines.order_by("position", "id")),
        prices_include_tax=version.prices_include_tax,
    )
    if contract.quote_id is not None and _live_order_exists(quote_id=contract.quote_id):
        raise Conflict(
            _("The contract's quote already has an order."), field_errors={"contract_id": [_("Already ordered.")]}
        )
    return _create(
        actor=actor,
        source=source,
        owner=contract.owner,
        account=contract.account,
        opportunity=contract.opportunity,
        currency=contract.currency,
    )


@transaction.atomic
def order_create_from_quote(*, actor: User, quote_id: object) -> Order:
    """A draft order from an **accepted** quote where no contract is needed: the lines of the
    accepted version copied exactly, the quote's account, owner, opportunity and currency.

    404 unseen quote; 403 not writable; 409 when the quote is not accepted, a contract was
    made from it (order from the contract instead) or it already has a live order."""
    quote = get_quote_for_order(actor, quote_id, write=True)
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if quote.status != QuoteStatus.ACCEPTED or quote.accepted_version is None:
        raise Conflict(
            _("Only an accepted quote can be ordered."), field_errors={"quote_id": [_("The quote is not accepted.")]}
        )
    if Contract.objects.filter(quote=quote).exists():
        raise Conflict(
            _("A contract was made from this quote: create the order from the signed contract."),
            field_errors={"quote_id": [_("The quote has a contract.")]},
        )
    if _live_order_exists(quote=quote):
        raise Conflict(_("This document already has an order."), field_errors={"quote_id": [_("Already ordered.")]})
    version = quote.accepted_version
    source = _Source(
        kind="quote",
        contract=None,
        quote=quote,
        lines=list(version.lines.order_by("position", "id")),
        prices_include_tax=version.prices_include_tax,
    )
    return _create(
        actor=actor,
        source=source,
        owner=quote.owner,
        account=quote.account,
        opportunity=quote.opportunity,
        currency=quote.currency,
    )


class ManualLine(TypedDict):
    """One line entered by hand (no product): names, unit, quantity, price and tax rate."""

    name_zh: str
    name_en: str
    unit: str
    quantity: object
    unit_price: object
    tax_rate: object


@transaction.atomic
def order_create_for_won_deal(*, actor: User, opportunity_id: object, line: ManualLine) -> Order:
    """A draft order for a deal won without a quote or contract in Salesflow (business
    closed before the quote-to-cash chain was in use, and the demo's fallback): one line
    entered by hand, the deal's account, owner and currency.

    404 unseen deal; 403 when the actor may not write the owner's records; 409 unless the
    deal is won or when it already has a live order; 400 naming each bad line field."""
    opp = get_opportunity_for_user(actor, opportunity_id)
    cond = owned_or_shared_q(actor, Opportunity, write=True, shareable=False)
    if cond is not None and not Opportunity.objects.filter(cond, pk=opp.pk).exists():
        raise Forbidden(_("You may not create orders for this document."))
    if opp.outcome != Outcome.WON:
        raise Conflict(_("Only a won deal can be ordered this way."), field_errors={"opportunity_id": [_("Not won.")]})
    if _live_order_exists(opportunity=opp):
        raise Conflict(
            _("This document already has an order."), field_errors={"opportunity_id": [_("Already ordered.")]}
        )
    errors: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for key, length, required in (("name_zh", 200, True), ("name_en", 200, False), ("unit", 20, False)):
        try:
            names[key] = clean_text(line.get(key, ""), key, max_length=length, required=required)
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    figures: dict[str, Decimal] = {}
    for key in ("quantity", "unit_price", "tax_rate"):
        value = line.get(key)
        try:
            if key == "quantity":
                figures[key] = parse_quantity(value)
            elif key == "unit_price":
                figures[key] = parse_amount(value, opp.currency)
            else:
                figures[key] = parse_percent(value)
        except AmountError as exc:
            errors[key] = [str(exc.message)]
    if errors:
        raise ValidationFailed(_("The line could not be saved."), field_errors=errors)
    manual = OrderLine(position=1, **names, **figures)  # the shape _create copies
    source = _Source(kind="opportunity", contract=None, quote=None, lines=[manual], prices_include_tax=False)
    order = _create(
        actor=actor, source=source, owner=opp.owner, account=opp.account, opportunity=opp, currency=opp.currency
    )
    return order


# --- draft lines, confirmation, cancellation -------------------------------------------------


class LineChanges(TypedDict, total=False):
    quantity: object
    unit_price: object
    discount_percent: object
    tax_rate: object


LINE_FIELDS = frozenset(LineChanges.__annotations__)


@transaction.atomic
def order_line_update(*, actor: User, line: OrderLine, **changes: Unpack[LineChanges]) -> OrderLine:
    """Change a line of a **draft** order (quantity, unit price, discount, tax rate); the
    line figures and the order's totals are recomputed by ``doctotals``.

    409 once the order is confirmed (its lines are frozen); 403 not writable; 400 naming
    each bad field. A change that changes nothing writes nothing."""
    refuse_unknown_fields(changes, LINE_FIELDS, _("The line could not be saved."))
    order = _lock(line.order)
    _writable(actor, order)
    if order.status != OrderStatus.DRAFT:
        raise Conflict(_("The order is confirmed: its lines can no longer be changed."), code="order_frozen")
    line = OrderLine.objects.get(pk=line.pk, order=order)
    errors: dict[str, list[str]] = {}
    parsed: dict[str, Decimal] = {}
    for key, value in changes.items():
        try:
            if key == "quantity":
                parsed[key] = parse_quantity(value)
            elif key == "unit_price":
                parsed[key] = parse_amount(value, order.currency)
            else:
                parsed[key] = parse_percent(value)
        except AmountError as exc:
            errors[key] = [str(exc.message)]
    if errors:
        raise ValidationFailed(_("The line could not be saved."), field_errors=errors)
    before = {key: getattr(line, key) for key in parsed}
    diff = {key: [str(before[key]), str(value)] for key, value in parsed.items() if before[key] != value}
    if not diff:
        return line
    for key, value in parsed.items():
        setattr(line, key, value)
    try:
        line_totals(LineInput(line.quantity, line.unit_price, line.discount_percent, line.tax_rate), order.currency)
    except TotalTooLarge:
        raise ValidationFailed(
            _("The line could not be saved."), field_errors={"quantity": [_("The line total is too large.")]}
        ) from None
    lines = [line if other.pk == line.pk else other for other in order.lines.all()]
    _apply_totals(order, lines)
    for each in lines:
        each.save()
    order.save(update_fields=["subtotal", "discount", "net", "tax", "total", "updated_at"])
    record_event(
        actor=actor,
        verb="orders.order.line_updated",
        target=order,
        data={**_order_data(order), "line_id": line.pk, "changes": diff, "summary": line.name_zh},
        related=[order.account],
    )
    return line


@transaction.atomic
def order_confirm(*, actor: User, order: Order) -> Order:
    """Confirm a draft order (订单确认): owner, their assistant or manager, administrators.
    From now on its lines are frozen (edits are 409). 409 when not a draft or without lines."""
    order = _lock(order)
    _writable(actor, order)
    if order.status != OrderStatus.DRAFT:
        raise Conflict(_("Only a draft order can be confirmed."), code="not_draft")
    if not order.lines.exists():
        raise Conflict(_("An order without lines cannot be confirmed."))
    order.confirmed_at = timezone.now()
    order.save(update_fields=["confirmed_at", "updated_at"])
    order_refresh_status(actor=actor, order=order)
    record_event(
        actor=actor,
        verb="orders.order.confirmed",
        target=order,
        data={**_order_data(order), "total": order.total, "currency": order.currency},
        related=[order.account, order.opportunity],
    )
    return order


@transaction.atomic
def order_cancel(*, actor: User, order: Order, reason: object) -> Order:
    """Cancel an order with a reason (required), only while nothing is delivered (every
    delivery voided counts as nothing). 409 when already cancelled or something delivered."""
    order = _lock(order)
    _writable(actor, order)
    text = clean_text(reason, "reason", max_length=REASON_LENGTH, required=True)
    if order.status == OrderStatus.CANCELLED:
        raise Conflict(_("The order is already cancelled."))
    if order.lines.filter(delivered_quantity__gt=0).exists():
        raise Conflict(_("Something was delivered on this order: it can no longer be cancelled."), code="delivered")
    previous = order.status
    order.cancelled_at = timezone.now()
    order.cancel_reason = text
    order.save(update_fields=["cancelled_at", "cancel_reason", "updated_at"])
    order_refresh_status(actor=actor, order=order)
    record_event(
        actor=actor,
        verb="orders.order.cancelled",
        target=order,
        data={**_order_data(order), "reason": text, "previous_status": previous, "summary": text[:200]},
        related=[order.account, order.opportunity],
    )
    return order


# --- hand-off to production / fulfilment -----------------------------------------------------


_UNSET: Any = object()


@transaction.atomic
def order_hand_off(
    *,
    actor: User,
    order: Order,
    fulfilment_status: object = _UNSET,
    expected_date: object = _UNSET,
    note: object = "",
) -> Order:
    """Change the order's hand-off to production or fulfilment: its ``fulfilment_status``
    (not started, in production, ready to ship, shipped) and/or ``expected_date``.

    Only for confirmed orders that are not cancelled (409). Emits the declared event
    ``orders.order.handed_off`` with the stable payload documented in docs/architecture.md
    (subscribers run after the commit). A call that changes nothing writes nothing."""
    order = _lock(order)
    _writable(actor, order)
    errors: dict[str, list[str]] = {}
    new_status = order.fulfilment_status
    if fulfilment_status is not _UNSET:
        if fulfilment_status not in FulfilmentStatus.values:
            errors["fulfilment_status"] = [_("Choose a fulfilment status from the list.")]
        else:
            new_status = str(fulfilment_status)
    new_date = order.expected_date
    if expected_date is not _UNSET:
        try:
            new_date = clean_date(expected_date, "expected_date", required=False)
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    try:
        text = clean_text(note, "note", max_length=NOTE_LENGTH)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        text = ""
    if errors:
        raise ValidationFailed(_("The hand-off could not be saved."), field_errors=errors)
    if order.status in (OrderStatus.DRAFT, OrderStatus.CANCELLED):
        raise Conflict(_("Only a confirmed order can be handed off to production."), code="not_confirmed")
    if new_status == order.fulfilment_status and new_date == order.expected_date:
        return order
    previous_status, previous_date = order.fulfilment_status, order.expected_date
    now = timezone.now()
    order.fulfilment_status, order.expected_date, order.handed_off_at = new_status, new_date, now
    order.save(update_fields=["fulfilment_status", "expected_date", "handed_off_at", "updated_at"])
    record_event(
        actor=actor,
        verb="orders.order.handed_off",
        target=order,
        data={
            **_order_data(order),
            "account_id": order.account_id,
            "owner_id": order.owner_id,
            "fulfilment_status": new_status,
            "previous_fulfilment_status": previous_status,
            "expected_date": new_date,
            "previous_expected_date": previous_date,
            "note": text,
            "changed_at": now,
            "summary": in_every_language(
                lambda: str(FulfilmentStatus(new_status).label) + (f" · {new_date.isoformat()}" if new_date else "")
            ),
        },
        related=[order.account],
    )
    return order


# --- deliveries ------------------------------------------------------------------------------


def _parse_delivery_lines(order: Order, lines: Mapping[Any, Any]) -> dict[OrderLine, Decimal]:
    """``{order line id: quantity}`` → ``{line: quantity}``; zero/empty quantities are
    skipped; unknown ids, foreign lines and bad quantities are 400s naming ``line_<id>``."""
    if not isinstance(lines, Mapping) or len(lines) > MAX_DELIVERY_LINES:
        raise ValidationFailed(_("The input is not valid."), field_errors={"lines": [_("Give the lines to deliver.")]})
    own = {line.pk: line for line in order.lines.all()}
    errors: dict[str, list[str]] = {}
    result: dict[OrderLine, Decimal] = {}
    for raw_id, raw_qty in lines.items():
        try:
            line_id = int(str(raw_id))
        except (TypeError, ValueError):
            line_id = 0
        line = own.get(line_id)
        key = f"line_{line_id}" if line else "lines"
        if line is None:
            errors.setdefault("lines", []).append(_("Line %(id)s is not a line of this order.") % {"id": raw_id})
            continue
        if raw_qty is None or raw_qty == "":
            continue
        try:
            quantity = parse_quantity(raw_qty, allow_zero=True)
        except AmountError as exc:
            errors[key] = [str(exc.message)]
            continue
        if quantity > 0:
            result[line] = quantity
    if errors:
        raise ValidationFailed(_("The delivery could not be recorded."), field_errors=errors)
    if not result:
        raise ValidationFailed(
            _("The delivery could not be recorded."),
            field_errors={"lines": [_("Enter a quantity for at least one line.")]},
        )
    return result


def _over_delivery_message(line: OrderLine, quantity: Decimal) -> str:
    return _(
        "Line %(position)s (%(name)s): delivering %(quantity)s would exceed the ordered %(ordered)s; "
        "%(delivered)s delivered, at most %(open)s still open."
    ) % {
        "position": line.position,
        "name": line.name,
        "quantity": _fmt(quantity),
        "ordered": _fmt(line.quantity),
        "delivered": _fmt(line.delivered_quantity),
        "open": _fmt(line.open_quantity),
    }


def _qty(quantity: Decimal) -> Value:
    """A quantity as an SQL value in the column's storage (integer thousandths), for
    ``F()`` arithmetic: an integer sum, exact on both databases."""
    return Value(quantity, output_field=QuantityField())


def _fmt(quantity: Decimal) -> str:
    """A quantity without trailing zeros: ``3``, ``2.5``."""
    text = f"{quantity:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@transaction.atomic
def delivery_create(
    *,
    actor: User,
    order: Order,
    delivered_on: object,
    lines: Mapping[Any, Any],
    note: object = "",
) -> Delivery:
    """Record a (partial) delivery (发货) of ``lines`` (``{order line id: quantity}``).

    Under the order's row lock: the order must be confirmed and not cancelled or accepted
    (409); every quantity must fit what is still open on its line — otherwise a 400 whose
    field ``line_<id>`` and message name the line, the quantity and what is open; the
    lines' delivered quantities grow by exactly these quantities (an integer update, also
    checked by the database), the delivery gets the next ``FH-`` number and the order's
    status is derived again."""
    order = _lock(order)
    _writable(actor, order)
    errors: dict[str, list[str]] = {}
    try:
        day = clean_date(delivered_on, "delivered_on")
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        day = None
    try:
        text = clean_text(note, "note", max_length=NOTE_LENGTH)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        text = ""
    if order.status in (OrderStatus.DRAFT, OrderStatus.CANCELLED, OrderStatus.ACCEPTED):
        raise Conflict(_("Deliveries can be recorded only on a confirmed order."), code="not_deliverable")
    try:
        quantities = _parse_delivery_lines(order, lines)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        quantities = {}
    for line, quantity in quantities.items():  # delivered quantities were read under the lock
        if line.delivered_quantity + quantity > line.quantity:
            errors[f"line_{line.pk}"] = [_over_delivery_message(line, quantity)]
    if errors or day is None:
        message = next(iter(m for k, ms in errors.items() if k.startswith("line_") for m in ms), None)
        raise ValidationFailed(message or _("The delivery could not be recorded."), field_errors=errors)
    number = format_document_number(DELIVERY_PREFIX, day.year, next_document_number("delivery", day.year))
    delivery = Delivery.objects.create(number=number, order=order, delivered_on=day, note=text, created_by=actor)
    DeliveryLine.objects.bulk_create(
        [DeliveryLine(delivery=delivery, order_line=line, quantity=q) for line, q in quantities.items()]
    )
    for line, quantity in quantities.items():
        OrderLine.objects.filter(pk=line.pk).update(delivered_quantity=F("delivered_quantity") + _qty(quantity))
    order_refresh_status(actor=actor, order=order)
    record_event(
        actor=actor,
        verb="orders.delivery.recorded",
        target=delivery,
        data={
            **_order_data(order),
            "delivery_id": delivery.pk,
            "delivery_number": delivery.number,
            "delivered_on": day,
            "lines": [{"order_line_id": line.pk, "quantity": str(q)} for line, q in quantities.items()],
            "summary": f"{delivery.number} · {order.number}",
        },
        related=[order, order.account],
    )
    return delivery


@transaction.atomic
def delivery_void(*, actor: User, delivery: Delivery, reason: object) -> Delivery:
    """Void a recorded delivery (a correction) with a reason: its quantities stop counting
    as delivered and the order's status is derived again (e.g. delivered → partly delivered).
    409 when already voided or once the customer accepted the order."""
    order = _lock(delivery.order)
    _writable(actor, order)
    text = clean_text(reason, "reason", max_length=REASON_LENGTH, required=True)
    delivery = Delivery.objects.get(pk=delivery.pk)
    if delivery.status == DeliveryStatus.VOIDED:
        raise Conflict(_("The delivery is already voided."))
    if order.status == OrderStatus.ACCEPTED:
        raise Conflict(_("The customer accepted the order: its deliveries can no longer be voided."))
    for row in delivery.lines.all():
        OrderLine.objects.filter(pk=row.order_line_id).update(
            delivered_quantity=F("delivered_quantity") - _qty(row.quantity)
        )
    delivery.status = DeliveryStatus.VOIDED
    delivery.voided_at = timezone.now()
    delivery.void_reason = text
    delivery.save(update_fields=["status", "voided_at", "void_reason", "updated_at"])
    order_refresh_status(actor=actor, order=order)
    record_event(
        actor=actor,
        verb="orders.delivery.voided",
        target=delivery,
        data={
            **_order_data(order),
            "delivery_id": delivery.pk,
            "delivery_number": delivery.number,
            "reason": text,
            "summary": text[:200],
        },
        related=[order, order.account],
    )
    return delivery


def _file_for(
    *, order: Order, upload: Upload | None, attachment_id: object, errors: dict[str, list[str]]
) -> Attachment | None:
    """The proof file: an upload (attached to the order now) or an attachment already on the
    order (``attachment_id``); errors go to ``file``."""
    if upload is not None:
        return None  # attached after the other checks (see callers)
    if attachment_id is None or attachment_id == "":
        errors["file"] = [_("Choose a file.")]
        return None
    try:
        pk = int(str(attachment_id))
    except (TypeError, ValueError):
        pk = 0
    found = Attachment.objects.filter(
        pk=pk if 0 < pk < 2**63 else 0, content_type=ContentType.objects.get_for_model(Order), object_id=order.pk
    ).first()
    if found is None:
        errors["attachment_id"] = [_("Choose a file attached to this order.")]
    return found


@transaction.atomic
def delivery_record_installation(
    *,
    actor: User,
    delivery: Delivery,
    installed_on: object,
    upload: Upload | None = None,
    attachment_id: object = None,
    note: object = "",
) -> Delivery:
    """Record the installation (安装) of a delivery with a date and a file (uploaded now and
    attached to the order, or an attachment already on the order). 409 on a voided delivery."""
    order = _lock(delivery.order)
    _writable(actor, order)
    delivery = Delivery.objects.get(pk=delivery.pk)
    errors: dict[str, list[str]] = {}
    try:
        day = clean_date(installed_on, "installed_on")
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        day = None
    try:
        text = clean_text(note, "note", max_length=NOTE_LENGTH)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        text = ""
    existing = _file_for(order=order, upload=upload, attachment_id=attachment_id, errors=errors)
    if errors or day is None:
        raise ValidationFailed(_("The installation could not be recorded."), field_errors=errors)
    if delivery.status == DeliveryStatus.VOIDED:
        raise Conflict(_("The delivery is voided."))
    file = existing or attachment_add(actor=actor, record=order, upload=upload, kind="other")
    delivery.installed_on, delivery.installation_note, delivery.installation_file = day, text, file
    delivery.save(update_fields=["installed_on", "installation_note", "installation_file", "updated_at"])
    record_event(
        actor=actor,
        verb="orders.delivery.installed",
        target=delivery,
        data={
            **_order_data(order),
            "delivery_id": delivery.pk,
            "delivery_number": delivery.number,
            "installed_on": day,
            "attachment_id": file.pk,
            "file_name": file.file_name,
            "note": text,
            "summary": f"{delivery.number} · {file.file_name}",
        },
        related=[order, order.account],
    )
    return delivery


@transaction.atomic
def order_record_acceptance(
    *,
    actor: User,
    order: Order,
    accepted_on: object,
    upload: Upload | None = None,
    attachment_id: object = None,
    note: object = "",
) -> Order:
    """Record the customer's acceptance (客户验收) of a fully delivered order with a date and
    a file; the status becomes ``accepted``. 409 unless the order is delivered."""
    order = _lock(order)
    _writable(actor, order)
    errors: dict[str, list[str]] = {}
    try:
        day = clean_date(accepted_on, "accepted_on")
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        day = None
    try:
        text = clean_text(note, "note", max_length=NOTE_LENGTH)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        text = ""
    existing = _file_for(order=order, upload=upload, attachment_id=attachment_id, errors=errors)
    if errors or day is None:
        raise ValidationFailed(_("The acceptance could not be recorded."), field_errors=errors)
    if order.status != OrderStatus.DELIVERED:
        raise Conflict(_("Acceptance can be recorded only once the order is fully delivered."), code="not_delivered")
    file = existing or attachment_add(actor=actor, record=order, upload=upload, kind="other")
    order.accepted_on, order.acceptance_note, order.acceptance_file = day, text, file
    order.save(update_fields=["accepted_on", "acceptance_note", "acceptance_file", "updated_at"])
    order_refresh_status(actor=actor, order=order)
    record_event(
        actor=actor,
        verb="orders.order.accepted",
        target=order,
        data={
            **_order_data(order),
            "accepted_on": day,
            "attachment_id": file.pk,
            "file_name": file.file_name,
            "note": text,
            "summary": file.file_name,
        },
        related=[order.account, order.opportunity],
    )
    return order
