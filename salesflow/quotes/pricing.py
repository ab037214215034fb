"""The unit price of a product on a quote: the catalogue's price lookup when it is
installed (``salesflow.catalogue.selectors.resolve_price``), else the product's list price
and tax rate. Pure reads; the quote services call this and freeze the result in the line.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from salesflow.catalogue.models import Product
from salesflow.parties.models import Account


@dataclass(frozen=True)
class LinePrice:
    """The price a line starts from: ``source`` says where it came from ("list" when the
    catalogue has no price lookup or no price list applies)."""

    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    source: str
    explanation: str = ""


def _resolver() -> tuple[Any, type[Exception]] | None:
    try:
        module = importlib.import_module("salesflow.catalogue.selectors")
    except ImportError:  # pragma: no cover - the catalogue lookup is merged at integration
        return None
    resolve = getattr(module, "resolve_price", None)
    no_price = getattr(module, "NoPrice", None)
    if resolve is None or no_price is None:  # pragma: no cover
        return None
    return resolve, no_price


def price_for(*, product: Product, account: Account, currency: str, quantity: Decimal, on: date) -> LinePrice | None:
    """The applicable price of ``product`` for ``account`` in ``currency``; ``None`` when
    there is none (no price list applies and the list price is in another currency)."""
    resolver = _resolver()
    if resolver is not None:
        resolve, no_price = resolver
        try:
            found = resolve(product=product, account=account, currency=currency, quantity=quantity, on=on)
        except no_price:
            found = None
        if found is not None:
            return LinePrice(
                unit_price=Decimal(found.unit_price),
                discount_percent=Decimal(found.discount_percent),
                tax_rate=Decimal(found.tax_rate),
                source=str(found.source),
                explanation=str(getattr(found, "explanation", "")),
            )
    if product.currency.upper() != currency.upper():
        return None
    return LinePrice(
        unit_price=product.list_price,
        discount_percent=Decimal("0.00"),
        tax_rate=product.tax_rate,
        source="list",
    )
