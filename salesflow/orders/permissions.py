"""Access functions for orders and deliveries, built on :mod:`salesflow.users.policy`.

An order is a document: it is **readable** by whoever's ownership scope covers its owner
(own; the team subtree for a manager; the delegated reps for an assistant; the team for
support, read-only; everything for administrators) **or** who may read its opportunity.
It is **writable** (confirm, hand off, deliver, accept, cancel) through the writable
ownership scope only — never through a share and never by support. Deliveries follow their
order. Unseen → ``Http404``; seen but not writable → ``Forbidden`` (403).

The upstream documents (contracts, quotes) are read under the same document rule, written
here because the orders app may not wait for the other apps' access functions: a contract
or quote is usable as the source of an order by whoever may write its owner's records.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.contracts.models import Contract
from salesflow.core.errors import Forbidden
from salesflow.orders.models import Delivery, Order
from salesflow.quotes.models import Quote
from salesflow.sales.permissions import opportunities_visible_to
from salesflow.users.models import User
from salesflow.users.policy import owned_or_shared_q


def _document_q(user: User, model: type[Model], *, write: bool) -> Q | None:
    """The document rule for ``model`` (owner scope, or the opportunity for reading)."""
    cond = owned_or_shared_q(user, model, write=write, shareable=False)
    if cond is None:
        return None
    if not write:
        cond |= Q(opportunity_id__in=opportunities_visible_to(user).order_by().values("pk"))
    return cond


def orders_visible_to(user: User) -> QuerySet[Order]:
    """Every order ``user`` may see (lists, counts, panels, API, timelines)."""
    cond = _document_q(user, Order, write=False)
    return Order.objects.all() if cond is None else Order.objects.filter(cond)


def orders_writable_by(user: User) -> QuerySet[Order]:
    """Orders ``user`` may change: the writable ownership scope (no shares, no support)."""
    cond = _document_q(user, Order, write=True)
    return Order.objects.all() if cond is None else Order.objects.filter(cond)


def can_write_order(user: User, order: Order) -> bool:
    return orders_writable_by(user).filter(pk=order.pk).exists()


def _pk(value: object) -> int:
    try:
        pk = int(str(value))
    except (TypeError, ValueError):
        raise Http404("not found") from None
    if not 0 < pk < 2**63:
        raise Http404("not found")
    return pk


def get_order_for_user(user: User, pk: object, *, write: bool = False) -> Order:
    """The order ``pk`` if visible (else ``Http404``); ``write`` → writable or ``Forbidden``."""
    order = (
        orders_visible_to(user)
        .select_related("account", "owner", "opportunity", "contract", "quote", "acceptance_file")
        .filter(pk=_pk(pk))
        .first()
    )
    if order is None:
        raise Http404("order not found")
    if write and not can_write_order(user, order):
        raise Forbidden(_("You may not change this order."))
    return order


def deliveries_visible_to(user: User) -> QuerySet[Delivery]:
    """Deliveries of the orders ``user`` may see."""
    cond = _document_q(user, Order, write=False)
    qs = Delivery.objects.all()
    return qs if cond is None else qs.filter(order__in=Order.objects.filter(cond).values("pk"))


def get_delivery_for_user(user: User, pk: object, *, write: bool = False) -> Delivery:
    """The delivery ``pk`` if its order is visible (else ``Http404``); ``write`` → the order
    writable or ``Forbidden``."""
    delivery = deliveries_visible_to(user).select_related("order").filter(pk=_pk(pk)).first()
    if delivery is None:
        raise Http404("delivery not found")
    if write and not can_write_order(user, delivery.order):
        raise Forbidden(_("You may not change this order."))
    return delivery


def _source(user: User, model: type[Contract] | type[Quote], pk: object, *, write: bool) -> Any:
    read = _document_q(user, model, write=False)
    qs = model.objects.all() if read is None else model.objects.filter(read)
    obj = qs.select_related("account", "owner", "opportunity").filter(pk=_pk(pk)).first()
    if obj is None:
        raise Http404("not found")
    if write:
        cond = _document_q(user, model, write=True)
        if cond is not None and not model.objects.filter(cond, pk=obj.pk).exists():
            raise Forbidden(_("You may not create orders for this document."))
    return obj


def get_contract_for_order(user: User, pk: object, *, write: bool = False) -> Contract:
    """The contract ``pk`` under the document rule (404 unseen; with ``write``, 403 when the
    user may not write its owner's records)."""
    contract: Contract = _source(user, Contract, pk, write=write)
    return contract


def get_quote_for_order(user: User, pk: object, *, write: bool = False) -> Quote:
    """The quote ``pk`` under the document rule (as :func:`get_contract_for_order`)."""
    quote: Quote = _source(user, Quote, pk, write=write)
    return quote
