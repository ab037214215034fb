"""Exact quantities and percentages for documents (quotes, orders, deliveries, invoices).

Both follow the money rule (:mod:`salesflow.core.money`): they enter through one parser,
are stored as integers (so SQLite and PostgreSQL read back exactly and ``SUM`` is an
integer sum) and are ``Decimal`` in Python.

* A **quantity** has at most :data:`QUANTITY_PLACES` (3) decimal places (0.5 days, 2.125
  tonnes), is never negative and at most :data:`MAX_QUANTITY`. Stored in thousandths.
* A **percentage** (discount, tax rate, margin) has at most two places and lies in
  0–100. Stored in hundredths of a percent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from salesflow.core.money import AmountError, MoneyField, MoneyFormField, _to_decimal

QUANTITY_PLACES = 3
MAX_QUANTITY = Decimal("999999999.999")
PERCENT_PLACES = 2
MAX_PERCENT = Decimal("100")


def _places(number: Decimal, places: int) -> bool:
    step = Decimal(1).scaleb(-places)
    return number.quantize(step, rounding=ROUND_HALF_UP) == number


def parse_quantity(value: object, *, allow_zero: bool = False) -> Decimal:
    """A quantity: finite, positive (or zero with ``allow_zero``), at most three decimal
    places and at most :data:`MAX_QUANTITY`. Same input rules as ``parse_amount`` (no
    ``bool``, floats only when exactly a short decimal). Raises ``AmountError``."""
    number = _to_decimal(value)
    with localcontext() as ctx:
        ctx.prec = 40
        if not number.is_finite():
            raise AmountError(_("Enter a number."))
        if number < 0 or (number == 0 and not allow_zero):
            raise AmountError(_("The quantity must be greater than zero."))
        if number.adjusted() > 9 or number > MAX_QUANTITY:
            raise AmountError(_("Enter a quantity of at most %(max)s.") % {"max": f"{MAX_QUANTITY:,}"})
        if (number != 0 and number.adjusted() < -QUANTITY_PLACES - 1) or not _places(number, QUANTITY_PLACES):
            raise AmountError(_("Use at most %(places)d decimal places.") % {"places": QUANTITY_PLACES})
    return number.quantize(Decimal(1).scaleb(-QUANTITY_PLACES))


def parse_percent(value: object) -> Decimal:
    """A percentage between 0 and 100 with at most two decimal places. Raises ``AmountError``."""
    number = _to_decimal(value)
    with localcontext() as ctx:
        ctx.prec = 40
        if not number.is_finite():
            raise AmountError(_("Enter a number."))
        if number < 0 or number > MAX_PERCENT:
            raise AmountError(_("Enter a percentage between 0 and 100."))
        if (number != 0 and number.adjusted() < -PERCENT_PLACES - 1) or not _places(number, PERCENT_PLACES):
            raise AmountError(_("Use at most %(places)d decimal places.") % {"places": PERCENT_PLACES})
    return number.quantize(Decimal(1).scaleb(-PERCENT_PLACES))


class QuantityFormField(MoneyFormField):
    """A text input cleaned by :func:`parse_quantity`."""

    def to_python(self, value: Any) -> Decimal | None:
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return parse_quantity(value)
        except AmountError as exc:
            raise ValidationError(str(exc.message), code="invalid") from exc


class PercentFormField(MoneyFormField):
    """A text input cleaned by :func:`parse_percent`."""

    def to_python(self, value: Any) -> Decimal | None:
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return parse_percent(value)
        except AmountError as exc:
            raise ValidationError(str(exc.message), code="invalid") from exc


class QuantityField(MoneyField):
    """A quantity stored exactly as integer thousandths (``Decimal`` with three places)."""

    description = _("Quantity (exact, stored in thousandths)")
    scale = QUANTITY_PLACES

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value is None or isinstance(value, Decimal):
            return value
        try:
            return parse_quantity(value, allow_zero=True)
        except AmountError as exc:
            raise ValidationError(str(exc.message), code="invalid") from exc

    def formfield(self, form_class: Any = None, choices_form_class: Any = None, **kwargs: Any) -> Any:
        return super().formfield(
            form_class=form_class or QuantityFormField, choices_form_class=choices_form_class, **kwargs
        )


class PercentField(MoneyField):
    """A percentage (0–100) stored exactly as integer hundredths of a percent."""

    description = _("Percentage (exact)")
    scale = PERCENT_PLACES

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value is None or isinstance(value, Decimal):
            return value
        try:
            return parse_percent(value)
        except AmountError as exc:
            raise ValidationError(str(exc.message), code="invalid") from exc

    def formfield(self, form_class: Any = None, choices_form_class: Any = None, **kwargs: Any) -> Any:
        return super().formfield(
            form_class=form_class or PercentFormField, choices_form_class=choices_form_class, **kwargs
        )
