"""Money in the JSON API: a decimal string out, a decimal string (or an exact number) in.

* Output (:data:`MoneyOut`): a string in plain decimal notation with the currency's
  minor units — ``"880000.00"`` for CNY, ``"1500"`` for JPY — so no client reads an
  amount through a binary float. Format it with ``salesflow.core.money.format_amount``.
* Input (:data:`MoneyIn`): a decimal string is the documented form. An integer or a
  JSON number is accepted when it is exactly a valid amount (see ``parse_amount``: every
  amount within the maximum survives a JSON number unchanged); anything else — ``true``,
  ``"NaN"``, ``1e20``, ``"12.345"`` — is a 400 naming the field. Text is parsed by the
  service with ``parse_amount`` in the record's currency (``"1.5"`` for JPY is refused
  there), so its errors come together with the other fields' errors.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.utils.translation import gettext_lazy as _
from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from salesflow.core.money import AMOUNT_SYNTAX, MAX_AMOUNT, MAX_AMOUNT_CHARS, AmountError, parse_amount

MONEY_PATTERN = r"^-?[0-9]+(\.[0-9]{1,2})?$"

_OUT_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "decimal",
    "pattern": MONEY_PATTERN,
    "description": "Exact amount as a decimal string with the currency's minor units "
    '(e.g. "880000.00"; "1500" for JPY).',
    "examples": ["880000.00"],
}
_IN_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "format": "decimal", "pattern": r"^[0-9]+(\.[0-9]{1,2})?$", "maxLength": MAX_AMOUNT_CHARS},
        {"type": "number", "minimum": 0, "maximum": float(MAX_AMOUNT)},
    ],
    "description": f'Amount as a decimal string (e.g. "880000.00"), at most {MAX_AMOUNT:,} and at most the '
    "currency's minor units of decimals (none for JPY). An integer or JSON number is accepted when it is "
    "exactly such an amount.",
    "examples": ["880000.00"],
}


def _coerce(value: Any) -> Any:
    """Check the syntax here (a decimal string, or an exact number brought to text); the
    value — sign, bounds, places for the currency — is checked by the service with
    ``parse_amount``, together with the other fields (so one 400 lists those errors)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_AMOUNT_CHARS:
            raise PydanticCustomError(
                "invalid_amount", str(_("Use at most %(max)d characters.") % {"max": MAX_AMOUNT_CHARS})
            )
        if not AMOUNT_SYNTAX.fullmatch(text):
            raise PydanticCustomError("invalid_amount", str(_("Enter a number.")))
        return text
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("invalid_amount", str(_("Enter a number.")))
    try:
        return f"{parse_amount(value, allow_negative=True):f}"  # numbers: only exact ones become text
    except AmountError as exc:
        raise PydanticCustomError("invalid_amount", str(exc.message)) from exc


#: An amount in a response body.
MoneyOut = Annotated[str, WithJsonSchema(_OUT_SCHEMA)]
#: An amount in a request body (a canonical decimal string once validated).
MoneyIn = Annotated[str, BeforeValidator(_coerce), WithJsonSchema(_IN_SCHEMA)]
