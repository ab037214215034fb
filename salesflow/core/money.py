"""Exact money: one parser of amounts, one model field, one currency table.

The money rule (see the architecture notes):

* Every amount that enters the system — from a form, an API body, an import or a
  service call — goes through :func:`parse_amount`. It accepts ``str``, ``int`` and
  ``Decimal``; a ``float`` only when its shortest ``repr`` is itself a valid amount
  (every amount up to :data:`MAX_AMOUNT` has at most 15 significant digits, which a
  binary double always reproduces exactly, so a JSON number such as ``1234.5`` arrives
  as exactly what the client wrote). ``bool`` is not a number. Non-finite values,
  values above :data:`MAX_AMOUNT`, more decimal places than the currency has minor
  units and negative values (unless the caller opts in) raise :class:`AmountError`,
  a ``ValueError`` whose ``message`` is translatable text callers put under the field.
* Amounts are stored by :class:`MoneyField` as integer hundredths (``BIGINT``) for every
  currency, so one column holds CNY and JPY alike, reads back exactly on SQLite (which
  stores ``DecimalField`` as floating point) and PostgreSQL, and SQL ``SUM`` is an
  integer sum.
* :data:`MAX_AMOUNT` is 999,999,999,999.99: 10¹⁴ − 1 hundredths per row, so a signed
  64-bit sum (SQLite's ``SUM`` over integers raises on overflow instead of wrapping)
  holds more than 92,000 rows *all at the maximum* — a trillion each — and any
  realistic column of real deals, whose totals are many orders of magnitude smaller.
  PostgreSQL sums ``bigint`` into ``numeric`` and cannot overflow. Sums that users can
  inflate at will (the board) use :func:`money_sum_annotations`, which cannot overflow
  at any row count. The maximum also keeps
  every amount within 15 significant digits (exact through a double, see above).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Aggregate, BigIntegerField, ExpressionWrapper, F, Q, Sum
from django.db.models.expressions import Combinable, Expression
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MONEY_MAX_DIGITS = 18
MONEY_DECIMAL_PLACES = 2
CENT = Decimal("0.01")

#: Largest absolute amount accepted anywhere (see the module docstring for why).
MAX_AMOUNT = Decimal("999999999999.99")
#: Every ``MoneyField`` column stores this many decimal places (hundredths) as an integer.
STORAGE_PLACES = 2
_STORAGE_FACTOR = 10**STORAGE_PLACES
#: Longest text accepted as an amount; longer input is refused before it is parsed.
MAX_AMOUNT_CHARS = 40

#: ISO 4217 minor units: the one place that says how many decimals a currency has.
#: Currencies not listed use two (the most a ``MoneyField`` stores).
MINOR_UNITS: dict[str, int] = {
    "CNY": 2,
    "USD": 2,
    "EUR": 2,
    "HKD": 2,
    "GBP": 2,
    "TWD": 2,
    "SGD": 2,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "MOP": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
}

# Plain decimal notation with an optional, short exponent ("1.5e3"); anything else
# (hex, underscores, "NaN", "Infinity", whitespace inside) is not an amount.
AMOUNT_SYNTAX = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


class AmountError(ValueError):
    """An amount was refused; ``message`` is translatable text for the field's error list."""

    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = message


def default_currency() -> str:
    """The installation's default currency (``SALESFLOW_DEFAULT_CURRENCY``, CNY unless set)."""
    return str(settings.SALESFLOW_DEFAULT_CURRENCY)


def company_currency() -> str:
    """The currency cross-currency totals are shown in (the default currency)."""
    return default_currency()


def currency_choices() -> list[tuple[str, str]]:
    """Currencies offered in forms: the configured list, default first."""
    codes = [default_currency()] + [c for c in settings.SALESFLOW_CURRENCIES if c != default_currency()]
    return [(c, c) for c in codes]


def minor_units(currency: str | None) -> int:
    """Decimal places of ``currency`` (2 when unknown or not given)."""
    if not currency:
        return STORAGE_PLACES
    return MINOR_UNITS.get(currency.upper(), STORAGE_PLACES)


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, bool):  # bool is an int subclass, but True is not an amount
        raise AmountError(_("Enter a number."))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        if value.bit_length() > 64:  # far above the maximum; avoid huge conversions
            raise AmountError(_("Enter an amount of at most %(max)s.") % {"max": f"{MAX_AMOUNT:,}"})
        return Decimal(value)
    if isinstance(value, float):
        value = repr(value)  # "nan", "inf" and long reprs fail the pattern below
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_AMOUNT_CHARS:
            raise AmountError(_("Use at most %(max)d characters.") % {"max": MAX_AMOUNT_CHARS})
        if not AMOUNT_SYNTAX.fullmatch(text):
            raise AmountError(_("Enter a number."))
        return Decimal(text)
    raise AmountError(_("Enter a number."))


def parse_amount(value: object, currency: str | None = None, *, allow_negative: bool = False) -> Decimal:
    """The one parser of amounts: returns an exact ``Decimal`` with the currency's places.

    ``currency`` decides the decimal places allowed (JPY none, CNY/USD/EUR/HKD two;
    without a currency, two). The result is quantized to those places (``"12.3"`` →
    ``Decimal("12.30")`` for CNY, ``"1500"`` → ``Decimal("1500")`` for JPY), and ``-0``
    becomes ``0``. Raises :class:`AmountError` (a ``ValueError``) for ``bool``, floats
    that are not exactly a short decimal, non-finite values, malformed text, text longer
    than :data:`MAX_AMOUNT_CHARS`, an absolute value above :data:`MAX_AMOUNT`, more
    places than allowed (``"12.345"``, or ``"1.5"`` for JPY) and, unless
    ``allow_negative``, values below zero.
    """
    number = _to_decimal(value)
    places = minor_units(currency)
    with localcontext() as ctx:
        ctx.prec = 40  # ≥ 12 integer + 2 decimal digits with room; comparisons are exact anyway
        if not number.is_finite():
            raise AmountError(_("Enter a number."))
        if number < 0 and not allow_negative:
            raise AmountError(_("The amount cannot be negative."))
        # adjusted() first: a huge exponent ("9e999") is refused without building the number.
        if number.adjusted() > 12 or abs(number) > MAX_AMOUNT:
            raise AmountError(_("Enter an amount of at most %(max)s.") % {"max": f"{MAX_AMOUNT:,}"})
        step = Decimal(1).scaleb(-places)
        if number.adjusted() < -places - 1 and number != 0:
            exact = False  # far below the smallest unit ("1e-999"): never representable
        else:
            exact = number.quantize(step, rounding=ROUND_HALF_UP) == number
        if not exact:
            if places == 0:
                raise AmountError(
                    _("%(currency)s amounts have no decimal places.") % {"currency": (currency or "").upper()}
                )
            raise AmountError(_("Use at most %(places)d decimal places.") % {"places": places})
        result = number.quantize(step)
    return result + 0 if result == 0 else result  # "-0.00" → "0.00"


def format_amount(value: Decimal, currency: str | None = None) -> str:
    """The API's decimal string: plain notation with the currency's places (``"880000.00"``,
    ``"1500"`` for JPY), never an exponent."""
    places = minor_units(currency)
    with localcontext() as ctx:
        ctx.prec = 40
        return f"{Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):f}"


def quantize(value: Decimal | int | str) -> Decimal:
    """Round half-up to cents; raises ``ValueError`` for values that are not finite numbers
    (including ``NaN`` and ``Infinity``). For computed values (weights, conversions),
    never for input: input goes through :func:`parse_amount`."""
    try:
        number = Decimal(value)
        if not number.is_finite():
            raise InvalidOperation
        return number.quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not a decimal amount: {value!r}") from exc


def weighted(amount: Decimal, probability: int) -> Decimal:
    """``amount × probability%`` rounded to cents."""
    return quantize(amount * Decimal(probability) / Decimal(100))


def to_minor(value: Decimal) -> int:
    """``value`` in stored hundredths; ``ValueError`` when it has more than two places."""
    scaled = Decimal(value).scaleb(STORAGE_PLACES)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"more than {STORAGE_PLACES} decimal places: {value!r}")
    return int(scaled)


def from_minor(value: int | Decimal) -> Decimal:
    """Stored hundredths (an ``int``, or a ``Decimal`` from a PostgreSQL ``SUM``) as an amount."""
    return Decimal(int(value)).scaleb(-STORAGE_PLACES)


#: Sums are taken in two parts (quotient and remainder of the hundredths by this number),
#: so neither part can leave a signed 64-bit integer on SQLite whatever the row count.
SUM_SPLIT = 10**9


def money_sum_annotations(name: str, field: str, *, filter: Q | None = None) -> dict[str, Aggregate]:
    """Aggregates for an exact, overflow-free sum of the ``MoneyField`` ``field``; read the
    result from the row with :func:`money_sum_value` (``name`` prefixes the two aliases).

    SQLite's ``SUM`` over integers raises on 64-bit overflow (≈ 92,000 rows at the maximum
    amount); summing the quotient and the remainder by :data:`SUM_SPLIT` separately keeps
    both parts tiny, and the exact total is rebuilt in Python.
    """
    part: BigIntegerField[int, int] = BigIntegerField()
    return {
        f"{name}_hi": Sum(ExpressionWrapper(F(field) / SUM_SPLIT, output_field=part), filter=filter),
        f"{name}_lo": Sum(ExpressionWrapper(F(field) % SUM_SPLIT, output_field=part), filter=filter),
    }


def money_sum_value(row: dict[str, Any], name: str, scale: int = STORAGE_PLACES) -> Decimal:
    """The exact sum annotated by :func:`money_sum_annotations` (``0`` over no rows)."""
    hundredths = int(row[f"{name}_hi"] or 0) * SUM_SPLIT + int(row[f"{name}_lo"] or 0)
    return Decimal(hundredths).scaleb(-scale)


class MoneyFormField(forms.Field):
    """A text input that cleans to an exact ``Decimal`` through :func:`parse_amount`.

    It bounds the value and its places (two); the service re-parses with the currency,
    which refuses e.g. decimals for JPY under the same field name.
    """

    widget = forms.TextInput

    def __init__(self, *, allow_negative: bool = False, **kwargs: Any) -> None:
        self.allow_negative = allow_negative
        for ignored in ("max_length", "max_digits", "decimal_places", "min_value", "max_value"):
            kwargs.pop(ignored, None)
        super().__init__(**kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs["inputmode"] = "decimal"
        attrs["maxlength"] = str(MAX_AMOUNT_CHARS)
        return attrs

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"{value:f}"
        return value

    def to_python(self, value: Any) -> Decimal | None:
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return parse_amount(value, allow_negative=self.allow_negative)
        except AmountError as exc:
            raise ValidationError(str(exc.message), code="invalid") from exc


class MoneyField(models.BigIntegerField):  # type: ignore[type-arg]
    """An amount stored exactly as integer hundredths, a ``Decimal`` in Python.

    Every currency uses the same scale (two places), so one column holds any currency
    exactly and ``Sum("amount")`` is an integer sum converted back by ``from_db_value``
    (on PostgreSQL the sum arrives as ``numeric``; both become an exact ``Decimal``).
    Values reaching the database must have at most two places (``ValueError`` otherwise);
    services parse them with :func:`parse_amount` first. Arithmetic expressions over the
    column (``F("amount") * 2``) work in hundredths: use ``Sum`` or convert explicitly.
    """

    description = _("Amount (exact, stored in hundredths)")
    #: Decimal places kept in the integer column.
    scale = STORAGE_PLACES

    # What the django-stubs plugin reports for instances and lookups (Decimal, not int).
    _pyi_private_set_type: Decimal | int | str | Combinable  # type: ignore[assignment]
    _pyi_private_get_type: Decimal  # type: ignore[assignment]
    _pyi_lookup_exact_type: Decimal | int | str  # type: ignore[assignment]

    def from_db_value(self, value: Any, expression: Expression, connection: BaseDatabaseWrapper) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.scale)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value is None or isinstance(value, Decimal):
            return value
        try:
            return parse_amount(value, allow_negative=True)
        except AmountError as exc:
            raise ValidationError(str(exc.message), code="invalid") from exc

    def get_prep_value(self, value: Any) -> Any:
        value = models.Field.get_prep_value(self, value)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)  # lookups and constraints (``rate__gt=0``)
        elif not isinstance(value, Decimal):
            value = self.to_python(value)
        scaled = Decimal(value).scaleb(self.scale)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"more than {self.scale} decimal places: {value!r}")
        return int(scaled)

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        return "" if value is None else f"{value:f}"

    def formfield(
        self,
        form_class: type[forms.Field] | None = None,
        choices_form_class: type[forms.ChoiceField] | None = None,
        **kwargs: Any,
    ) -> forms.Field | None:
        # Skip IntegerField.formfield (it would force a forms.IntegerField).
        return models.Field.formfield(
            self, form_class=form_class or MoneyFormField, choices_form_class=choices_form_class, **kwargs
        )


#: Exchange rates keep this many decimal places (e.g. 0.04812345 CNY per JPY).
RATE_PLACES = 8
#: Largest rate accepted (units of the company currency per unit of another currency).
MAX_RATE = Decimal("1000000")


def parse_rate(value: object) -> Decimal:
    """An exchange rate: a positive decimal of at most :data:`RATE_PLACES` places and at
    most :data:`MAX_RATE`; the same input rules as :func:`parse_amount` otherwise (no
    floats that are not exactly a short decimal, no ``bool``, no non-finite values).
    Raises :class:`AmountError`."""
    number = _to_decimal(value)
    with localcontext() as ctx:
        ctx.prec = 40
        if not number.is_finite():
            raise AmountError(_("Enter a number."))
        if number <= 0:
            raise AmountError(_("The rate must be greater than zero."))
        if number.adjusted() > 7 or number > MAX_RATE:
            raise AmountError(_("Enter a rate of at most %(max)s.") % {"max": f"{MAX_RATE:,}"})
        step = Decimal(1).scaleb(-RATE_PLACES)
        if number.adjusted() < -RATE_PLACES - 1 or number.quantize(step, rounding=ROUND_HALF_UP) != number:
            raise AmountError(_("Use at most %(places)d decimal places.") % {"places": RATE_PLACES})
    return number


class RateFormField(MoneyFormField):
    """A text input cleaned by :func:`parse_rate`."""

    def to_python(self, value: Any) -> Decimal | None:
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return parse_rate(value)
        except AmountError as exc:
            raise ValidationError(str(exc.message), code="invalid") from exc


class RateField(MoneyField):
    """An exchange rate stored exactly as an integer of 10⁻⁸ units (see :data:`RATE_PLACES`)."""

    description = _("Exchange rate (exact)")
    scale = RATE_PLACES

    def from_db_value(self, value: Any, expression: Expression, connection: BaseDatabaseWrapper) -> Decimal | None:
        number = super().from_db_value(value, expression, connection)
        if number is None:
            return None
        # Rates read back as entered ("7.1", not "7.10000000"); never in exponent form.
        normal = number.normalize()
        return normal.quantize(Decimal(1)) if normal.as_tuple().exponent > 0 else normal  # type: ignore[operator]

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value is None or isinstance(value, Decimal):
            return value
        try:
            return parse_rate(value)
        except AmountError as exc:
            raise ValidationError(str(exc.message), code="invalid") from exc

    def formfield(
        self,
        form_class: type[forms.Field] | None = None,
        choices_form_class: type[forms.ChoiceField] | None = None,
        **kwargs: Any,
    ) -> forms.Field | None:
        return super().formfield(
            form_class=form_class or RateFormField, choices_form_class=choices_form_class, **kwargs
        )
