"""Shared builders for the quote tests."""

from __future__ import annotations

from typing import Any

from salesflow.quotes.models import Quote, QuoteVersion
from salesflow.quotes.services import quote_create


def make_quote(actor: Any, deal: Any, products: dict[str, Any] | None = None, **kwargs: Any) -> Quote:
    lines = kwargs.pop("lines", None)
    if lines is None:
        lines = (
            [
                {"product_id": products["crm"].pk, "quantity": "2", "discount_percent": "10"},
                {"product_id": products["svc"].pk, "quantity": "5"},
            ]
            if products
            else [{"name_zh": "定制开发", "quantity": "1", "unit_price": "5000.00", "tax_rate": "6"}]
        )
    return quote_create(actor=actor, opportunity=deal, lines=lines, **kwargs)


def cv(quote: Quote) -> QuoteVersion:
    """The quote's current version (fresh from the database)."""
    assert quote.current_version_id is not None
    return QuoteVersion.objects.get(pk=quote.current_version_id)
