"""Upstream documents for the orders tests, written straight as model rows (the quotes and
contracts apps are built in parallel; these are the shapes their services produce): a signed
contract with a current version and lines, an accepted quote with an accepted version."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from salesflow.catalogue.models import Product
from salesflow.contracts.models import Contract, ContractLine, ContractStatus, ContractVersion
from salesflow.core.doctotals import LineInput, document_totals
from salesflow.parties.models import Account
from salesflow.quotes.models import Quote, QuoteLine, QuoteStatus, QuoteVersion
from salesflow.sales.models import Opportunity
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.models import User

_seq = itertools.count(1)

#: (code, name_zh, name_en, unit, quantity, unit price, discount %, tax %)
DEFAULT_LINES: list[tuple[str, str, str, str, str, str, str, str]] = [
    ("SRV-01", "服务器机柜", "Server rack", "台", "3", "12500.00", "5", "13"),
    ("INST-01", "安装调试服务", "Installation", "人天", "2.5", "1800.00", "0", "6"),
]


def _line_fields(rows: Sequence[tuple[str, ...]], currency: str, prices_include_tax: bool) -> list[dict[str, Any]]:
    inputs = [LineInput(Decimal(q), Decimal(p), Decimal(d), Decimal(t)) for _c, _z, _e, _u, q, p, d, t in rows]
    totals = document_totals(inputs, currency, prices_include_tax=prices_include_tax)
    result = []
    for pos, (row, figures) in enumerate(zip(rows, totals.lines, strict=True), start=1):
        code, zh, en, unit, q, p, d, t = row
        result.append(
            {
                "position": pos,
                "code": code,
                "name_zh": zh,
                "name_en": en,
                "unit": unit,
                "quantity": Decimal(q),
                "unit_price": Decimal(p),
                "discount_percent": Decimal(d),
                "tax_rate": Decimal(t),
                "gross": figures.gross,
                "discount": figures.discount,
                "net": figures.net,
                "tax": figures.tax,
                "total": figures.total,
            }
        )
    return result


def _totals(rows: Sequence[tuple[str, ...]], currency: str, prices_include_tax: bool) -> dict[str, Decimal]:
    inputs = [LineInput(Decimal(q), Decimal(p), Decimal(d), Decimal(t)) for _c, _z, _e, _u, q, p, d, t in rows]
    t = document_totals(inputs, currency, prices_include_tax=prices_include_tax)
    return {"subtotal": t.subtotal, "discount": t.discount, "net": t.net, "tax": t.tax, "total": t.total}


def make_quote(
    owner: User,
    *,
    opportunity: Opportunity | None = None,
    status: str = QuoteStatus.ACCEPTED,
    lines: Sequence[tuple[str, ...]] = DEFAULT_LINES,
    prices_include_tax: bool = False,
    currency: str = "CNY",
) -> Quote:
    opp = opportunity or make_opportunity(owner)
    n = next(_seq)
    quote = Quote.objects.create(
        number=f"QT-TEST-{n:05d}",  # never a number the real sequence hands out
        opportunity=opp,
        account=opp.account,
        owner=owner,
        title=f"报价 {n}",
        currency=currency,
        status=status,
    )
    totals = _totals(lines, currency, prices_include_tax)
    version = QuoteVersion.objects.create(
        quote=quote, version=1, status=status, prices_include_tax=prices_include_tax, **totals
    )
    for fields in _line_fields(lines, currency, prices_include_tax):
        QuoteLine.objects.create(version=version, **fields)
    quote.current_version = version
    quote.accepted_version = version if status == QuoteStatus.ACCEPTED else None
    quote.total = totals["total"]
    quote.save()
    return quote


def make_contract(
    owner: User,
    *,
    account: Account | None = None,
    opportunity: Opportunity | None = None,
    quote: Quote | None = None,
    status: str = ContractStatus.SIGNED,
    lines: Sequence[tuple[str, ...]] = DEFAULT_LINES,
    prices_include_tax: bool = False,
    currency: str = "CNY",
) -> Contract:
    opp = opportunity or (quote.opportunity if quote else make_opportunity(owner))
    n = next(_seq)
    contract = Contract.objects.create(
        number=f"HT-TEST-{n:05d}",  # never a number the real sequence hands out
        title=f"合同 {n}",
        account=account or opp.account,
        owner=owner,
        opportunity=opp,
        quote=quote,
        currency=currency,
        status=status,
    )
    totals = _totals(lines, currency, prices_include_tax)
    version = ContractVersion.objects.create(
        contract=contract, version=1, status=status, prices_include_tax=prices_include_tax, **totals
    )
    for fields in _line_fields(lines, currency, prices_include_tax):
        ContractLine.objects.create(version=version, **fields)
    contract.current_version = version
    contract.total = totals["total"]
    contract.save()
    return contract


def make_product(code: str = "P-1") -> Product:
    return Product.objects.create(code=code, name_zh="产品", name_en="Product", unit="台")
