"""The order's status, derived — the one rule, pure (no database).

An order's ``status`` is never set by hand: every service that changes what it depends on
(confirmation, cancellation, deliveries and their voiding, acceptance) calls
``orders.services.order_refresh_status``, which reads the facts and stores the result of
:func:`derive_status`. The rule, in order:

1. cancelled (``cancelled_at`` set)                      → ``cancelled``
2. not confirmed (``confirmed_at`` empty)                → ``draft``
3. every line fully delivered and acceptance recorded    → ``accepted``
4. every line fully delivered                            → ``delivered``
5. something delivered on some line                      → ``partly_delivered``
6. otherwise                                             → ``confirmed``

An order without lines is never "delivered" (there is nothing to deliver; confirmation
refuses it anyway). Acceptance is recorded only on a delivered order, and a delivery cannot
be voided after acceptance, so rule 3 never meets an order that is not fully delivered; if
it did, the order would read ``partly_delivered``, never ``accepted``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from salesflow.orders.models import OrderStatus


def derive_status(
    *,
    confirmed: bool,
    cancelled: bool,
    accepted: bool,
    lines: Iterable[tuple[Decimal, Decimal]],
) -> OrderStatus:
    """The status of an order from its facts; ``lines`` are ``(ordered, delivered)`` pairs."""
    if cancelled:
        return OrderStatus.CANCELLED
    if not confirmed:
        return OrderStatus.DRAFT
    pairs = list(lines)
    anything = any(delivered > 0 for _ordered, delivered in pairs)
    complete = bool(pairs) and all(delivered >= ordered for ordered, delivered in pairs)
    if complete:
        return OrderStatus.ACCEPTED if accepted else OrderStatus.DELIVERED
    if anything:
        return OrderStatus.PARTLY_DELIVERED
    return OrderStatus.CONFIRMED
