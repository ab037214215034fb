"""Rule conditions as typed data: ``(fact, operator, value)`` rows checked per fact type.

Pure functions (no database): :func:`clean_condition` validates what an administrator or the
API gives and returns the stored form; :func:`condition_matches` tests one stored condition
against a document's facts (``core.approvals.FACT_KEYS``). Guarantees:

- every fact has one type (``FACT_TYPES``) and each type its operators; anything else is a
  ``ValueError`` with a message for people (services turn it into a 400 on the field);
- a fact that is missing from the facts, or ``None`` (e.g. the margin when costs are
  unknown), never matches a condition on it — whatever the operator, ``ne`` included;
- decimals are compared as ``Decimal``, never floats; the stored value is a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesflow.approvals.choices import Operator

DECIMAL, TEXT, LIST, BOOL, INT = "decimal", "text", "list", "bool", "int"

FACT_TYPES: dict[str, str] = {
    "amount": DECIMAL,
    "discount_percent": DECIMAL,
    "margin_percent": DECIMAL,
    "currency": TEXT,
    "region": TEXT,
    "customer_grade": TEXT,
    "product_lines": LIST,
    "non_standard_terms": BOOL,
    "owner_id": INT,
    "team_id": INT,
}

FACT_LABELS = {
    "amount": gettext_lazy("Amount (company currency)"),
    "discount_percent": gettext_lazy("Largest discount %"),
    "margin_percent": gettext_lazy("Margin %"),
    "currency": gettext_lazy("Currency"),
    "region": gettext_lazy("Region (code)"),
    "customer_grade": gettext_lazy("Customer grade"),
    "product_lines": gettext_lazy("Product lines (codes)"),
    "non_standard_terms": gettext_lazy("Non-standard terms"),
    "owner_id": gettext_lazy("Owner (user id)"),
    "team_id": gettext_lazy("Team (team id)"),
}

OPERATORS: dict[str, tuple[str, ...]] = {
    DECIMAL: (Operator.GT, Operator.GTE, Operator.LT, Operator.LTE, Operator.EQ, Operator.NE),
    TEXT: (Operator.EQ, Operator.NE, Operator.IN, Operator.NOT_IN),
    LIST: (Operator.CONTAINS, Operator.IN),
    BOOL: (Operator.IS_TRUE, Operator.IS_FALSE),
    INT: (Operator.EQ, Operator.NE, Operator.IN, Operator.NOT_IN),
}

MAX_ITEMS = 50
MAX_TEXT = 60
MAX_DECIMAL = Decimal("999999999999.99")


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(_("Enter text."))
    value = value.strip()
    if not value or len(value) > MAX_TEXT or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(_("Enter 1–%(n)s characters without control characters.") % {"n": MAX_TEXT})
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise ValueError(_("Enter a positive whole number."))
    return value


def _decimal(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(_("Enter a number such as 15 or 500000.00."))
    text = str(value).strip()
    if len(text) > 20:
        raise ValueError(_("Enter a number such as 15 or 500000.00."))
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("Enter a number such as 15 or 500000.00.")) from None
    if not number.is_finite() or abs(number) > MAX_DECIMAL or number.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(_("Enter a number with at most two decimal places and at most 12 digits before the point."))
    return str(number)


def _many(value: object, one: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    if not items or len(items) > MAX_ITEMS:
        raise ValueError(_("Give between 1 and %(n)s values.") % {"n": MAX_ITEMS})
    return list(dict.fromkeys(one(item) for item in items))


def clean_condition(fact: object, operator: object, value: object) -> tuple[str, str, Any]:
    """The stored form of a condition, or ``ValueError(message)``. ``in``/``not_in`` take a
    list (a single value is a list of one); ``is_true``/``is_false`` take no value."""
    if not isinstance(fact, str) or fact not in FACT_TYPES:
        raise ValueError(_("Unknown fact."))
    kind = FACT_TYPES[fact]
    if not isinstance(operator, str) or operator not in OPERATORS[kind]:
        raise ValueError(_("This operator does not apply to this fact."))
    if kind == BOOL:
        return fact, operator, None
    if kind == DECIMAL:
        return fact, operator, _decimal(value)
    if kind == INT:
        if operator in (Operator.IN, Operator.NOT_IN):
            return fact, operator, _many(value, _int)
        return fact, operator, _int(value)
    if operator in (Operator.IN, Operator.NOT_IN):
        return fact, operator, _many(value, _text)
    return fact, operator, _text(value)


def _fact_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def condition_matches(fact: str, operator: str, value: Any, facts: Mapping[str, Any]) -> bool:
    """Whether the stored condition holds for ``facts`` (missing or ``None`` facts: never)."""
    actual = facts.get(fact)
    kind = FACT_TYPES.get(fact)
    if actual is None or kind is None:
        return False
    if kind == BOOL:
        if not isinstance(actual, bool):
            return False
        return actual if operator == Operator.IS_TRUE else not actual
    if kind == DECIMAL:
        number = _fact_decimal(actual)
        if number is None:
            return False
        limit = Decimal(str(value))
        return {
            Operator.GT: number > limit,
            Operator.GTE: number >= limit,
            Operator.LT: number < limit,
            Operator.LTE: number <= limit,
            Operator.EQ: number == limit,
            Operator.NE: number != limit,
        }.get(Operator(operator), False)
    if kind == LIST:
        present = {str(item) for item in actual} if isinstance(actual, list | tuple | set | frozenset) else set()
        wanted = {str(item) for item in (value if isinstance(value, list) else [value])}
        return bool(present & wanted)
    if kind == INT and (isinstance(actual, bool) or not isinstance(actual, int)):
        return False
    if kind == TEXT:
        actual = str(actual)
    if operator == Operator.EQ:
        return bool(actual == value)
    if operator == Operator.NE:
        return bool(actual != value)
    values = value if isinstance(value, list) else [value]
    if operator == Operator.IN:
        return actual in values
    if operator == Operator.NOT_IN:
        return actual not in values
    return False


def describe_condition(fact: str, operator: str, value: Any) -> str:
    """A one-line text of a condition for settings and request pages."""
    label = str(FACT_LABELS.get(fact, fact))
    try:
        op = str(Operator(operator).label)
    except ValueError:
        op = operator
    if value is None:
        return f"{label} {op}"
    shown = "、".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return f"{label} {op} {shown}"


def facts_for_storage(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The known facts as JSON (decimals as strings); unknown keys are dropped."""
    stored: dict[str, Any] = {}
    for key in FACT_TYPES:
        if key not in facts:
            continue
        value = facts[key]
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, list | tuple | set | frozenset):
            value = [str(item) for item in value][:MAX_ITEMS]
        elif value is not None and not isinstance(value, bool | int | str):
            value = str(value)
        stored[key] = value
    return stored
