"""The unit price of a product on a quote: the catalogue's price lookup
(``salesflow.catalogue.selectors.resolve_price``: price lists per customer group, channel
and currency, volume tiers, discount rules, else the list price). Pure reads; the quote
services call this and freeze the result in the line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from salesflow.catalogue.models import Product
from salesflow.catalogue.selectors import NoPrice, resolve_price
from salesflow.parties.models import Account


@dataclass(frozen=True)
class LinePrice:
    """The price a line starts from; ``source`` and ``explanation`` say where it came from."""

    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    source: str
    explanation: str = ""


def price_for(*, product: Product, account: Account, currency: str, quantity: Decimal, on: date) -> LinePrice | None:
    """The applicable price of ``product`` for ``account`` in ``currency`` and ``quantity``
    on ``on``; ``None`` when nothing prices it in that currency."""
    try:
        found = resolve_price(product=product, account=account, currency=currency, quantity=quantity, on=on)
    except NoPrice:
        return None
    return LinePrice(
        unit_price=found.unit_price,
        discount_percent=found.discount_percent,
        tax_rate=found.tax_rate,
        source=str(found.source),
        explanation=str(found.explanation),
    )
