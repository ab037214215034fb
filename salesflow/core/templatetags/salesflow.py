"""Template helpers: money, timeline labels, form fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import get_language

from salesflow.core.money import minor_units
from salesflow.core.timeline import verb_label

register = template.Library()

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$", "JPY": "JP¥", "GBP": "£"}


@register.filter
def money(amount: Decimal | int | None, currency: str = "CNY") -> str:
    """``¥1,234,567.00`` — grouped, the currency's decimals (none for JPY), symbol for known
    currencies."""
    if amount is None or amount == "":
        return "—"
    symbol = CURRENCY_SYMBOLS.get(currency or "CNY", f"{currency} ")
    places = minor_units(currency or "CNY")
    return f"{symbol}{Decimal(amount):,.{places}f}"


@register.filter
def money_short(amount: Decimal | int | None, currency: str = "CNY") -> str:
    """Whole units only, for board columns: ``¥1,234,568``."""
    if amount is None:
        return "—"
    symbol = CURRENCY_SYMBOLS.get(currency or "CNY", f"{currency} ")
    return f"{symbol}{Decimal(amount):,.0f}"


@register.filter
def rate(value: Decimal | None) -> str:
    """An exchange rate without trailing zeros: ``7.1234``, ``150``."""
    if value is None:
        return "—"
    text = f"{Decimal(value).normalize():f}"
    return text


@register.filter
def event_summary(summary: object) -> str:
    """A timeline summary in the reader's language (stored per language or as plain text)."""
    if isinstance(summary, dict):
        lang = (get_language() or "").lower()
        return str(summary.get(lang) or summary.get("en") or next(iter(summary.values()), ""))
    return "" if summary is None else str(summary)


@register.filter
def event_label(verb: str) -> str:
    return verb_label(verb)


@register.inclusion_tag("components/field.html")
def field(bound_field: Any, **kwargs: Any) -> dict[str, Any]:
    """Render one form field Tabler-style with label, help and errors.

    Adds the Bootstrap classes to the widget so forms need no styling code.
    """
    widget = bound_field.field.widget
    input_type = getattr(widget, "input_type", None)
    css = (
        "form-check-input"
        if input_type in ("checkbox", "radio")
        else ("form-select" if input_type == "select" else "form-control")
    )
    classes = widget.attrs.get("class", "")
    if css not in classes.split():
        classes = f"{classes} {css}".strip()
    if bound_field.errors and "is-invalid" not in classes:
        classes += " is-invalid"
    widget.attrs["class"] = classes
    return {"field": bound_field, **kwargs}


@register.simple_tag(takes_context=True)
def query_with(context: Any, **kwargs: Any) -> str:
    """The current query string with some parameters replaced (``None`` removes one).

    Setting or removing ``page`` also removes the pager's ``after``/``before`` cursor unless
    given (``core.web.paginate``): it names a row of the current page, not of another list.
    """
    request = context["request"]
    params = request.GET.copy()
    if "page" in kwargs:  # a pager cursor belongs to its page: another page, sort or filter drops it
        kwargs = {"after": None, "before": None, **kwargs}
    for key, value in kwargs.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"
