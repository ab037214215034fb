"""Document totals: the one pure function every priced document uses (quotes, contracts,
orders, invoices). No database, no settings, no I/O: ``Decimal`` in, ``Decimal`` out.

The rounding rule (agrees with the money rule in :mod:`salesflow.core.money`):

1. Each line is computed on its own and rounded to the currency's minor units
   (``ROUND_HALF_UP``, the rule of the Chinese fapiao and of ``money.quantize``) at
   every step that produces an amount a person reads on the document:

   * ``gross    = round(quantity × unit_price)``
   * ``discount = round(gross × discount_percent / 100)``
   * ``net      = gross − discount``
   * tax-exclusive prices (default): ``tax = round(net × tax_rate / 100)``,
     ``total = net + tax``;
   * tax-inclusive prices (含税价, ``prices_include_tax=True``): the net already holds
     the tax, ``total = net``, ``tax = total − round(total / (1 + tax_rate / 100))``.

2. The document's figures are sums of the rounded line figures, so every column adds up
   exactly as printed: ``subtotal = Σ gross``, ``discount = Σ discount``,
   ``net = Σ net``, ``tax = Σ tax``, ``total = Σ total = net + tax`` (exclusive) or
   ``net`` (inclusive). No second rounding happens at document level.

3. Inputs are already parsed (``parse_quantity``, ``parse_amount``, ``parse_percent``);
   the function asserts the invariants ``0 ≤ discount ≤ gross`` and ``total ≥ 0`` hold.
   A result above ``money.MAX_AMOUNT`` raises :class:`TotalTooLarge` so the caller
   answers 400 naming the lines (an amount the money column cannot hold is never saved).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from salesflow.core.money import MAX_AMOUNT, minor_units


class TotalTooLarge(ValueError):
    """A line or document figure exceeds ``MAX_AMOUNT``."""


@dataclass(frozen=True)
class LineInput:
    """One priced line: ``quantity`` (≥ 0), ``unit_price`` (≥ 0, currency units),
    ``discount_percent`` and ``tax_rate`` (percent, 0–100)."""

    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = Decimal("0")
    tax_rate: Decimal = Decimal("0")


@dataclass(frozen=True)
class LineTotals:
    gross: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class DocumentTotals:
    lines: tuple[LineTotals, ...]
    subtotal: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def line_totals(line: LineInput, currency: str, *, prices_include_tax: bool = False) -> LineTotals:
    """The rounded figures of one line (see the module docstring for the rule)."""
    places = minor_units(currency)
    with localcontext() as ctx:
        ctx.prec = 60  # exact for every product of parsed inputs
        gross = _round(line.quantity * line.unit_price, places)
        discount = _round(gross * line.discount_percent / 100, places)
        net = gross - discount
        if prices_include_tax:
            total = net
            tax = total - _round(total / (1 + line.tax_rate / 100), places)
        else:
            tax = _round(net * line.tax_rate / 100, places)
            total = net + tax
    assert Decimal(0) <= discount <= gross and total >= 0 and tax >= 0
    if gross > MAX_AMOUNT or total > MAX_AMOUNT:
        raise TotalTooLarge("line amount above the maximum")
    return LineTotals(gross=gross, discount=discount, net=net, tax=tax, total=total)


def document_totals(lines: Iterable[LineInput], currency: str, *, prices_include_tax: bool = False) -> DocumentTotals:
    """Every line's figures and the document's sums; an empty document totals zero."""
    computed: Sequence[LineTotals] = tuple(
        line_totals(line, currency, prices_include_tax=prices_include_tax) for line in lines
    )
    places = minor_units(currency)
    zero = _round(Decimal(0), places)
    subtotal = sum((row.gross for row in computed), zero)
    discount = sum((row.discount for row in computed), zero)
    net = sum((row.net for row in computed), zero)
    tax = sum((row.tax for row in computed), zero)
    total = sum((row.total for row in computed), zero)
    if subtotal > MAX_AMOUNT or total > MAX_AMOUNT:
        raise TotalTooLarge("document total above the maximum")
    return DocumentTotals(lines=tuple(computed), subtotal=subtotal, discount=discount, net=net, tax=tax, total=total)
