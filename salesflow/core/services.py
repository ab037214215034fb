"""Writes of the kernel: exchange rates entered by administrators (audited)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from salesflow.core.audit import changed_fields, record_event
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import ExchangeRate
from salesflow.core.money import AmountError, company_currency, currency_choices, parse_rate


def _check_admin(actor: Any) -> None:
    # The kernel cannot import users; an administrator is a user whose ``is_admin`` is true.
    if actor is None or getattr(actor, "is_admin", False) is not True:
        raise Forbidden(_("Only administrators may change exchange rates."))


def _clean(
    currency: str, rate: object, valid_from: object, note: str, errors: dict[str, list[str]]
) -> tuple[str, Decimal | None, str]:
    code = (currency or "").strip().upper()
    if code == company_currency():
        errors["currency"] = [_("The company currency needs no exchange rate.")]
    elif code not in {c for c, _label in currency_choices()}:
        errors["currency"] = [_("“%(currency)s” is not a supported currency.") % {"currency": code}]
    value: Decimal | None = None
    try:
        value = parse_rate(rate)
    except AmountError as exc:
        errors["rate"] = [str(exc.message)]
    if not isinstance(valid_from, date):
        errors["valid_from"] = [_("Enter a valid date.")]
    note = (note or "").strip()
    if len(note) > 200:
        errors["note"] = [_("Use at most %(max)d characters.") % {"max": 200}]
    return code, value, note


def _data(row: ExchangeRate) -> dict[str, Any]:
    return {"currency": row.currency, "rate": row.rate, "valid_from": row.valid_from, "note": row.note}


def _save(row: ExchangeRate, errors: dict[str, list[str]]) -> None:
    try:
        with transaction.atomic():  # a savepoint: the unique-day race is a field error, not a 500
            row.save()
    except IntegrityError:
        errors["valid_from"] = [_("This currency already has a rate from this date.")]
        raise ValidationFailed(_("The exchange rate could not be saved."), field_errors=errors) from None


@transaction.atomic
def exchange_rate_create(*, actor: Any, currency: str, rate: object, valid_from: date, note: str = "") -> ExchangeRate:
    """Add the rate of ``currency`` (units of the company currency per unit) from ``valid_from`` on.

    Raises ``Forbidden`` unless ``actor`` is an administrator, ``ValidationFailed`` (nothing
    written) for the company currency or an unsupported one, a rate ``parse_rate`` refuses,
    a missing date, or a second rate of the currency for the same date. Audits
    ``core.exchange_rate.created`` with ``{currency, rate, valid_from, note}``.
    """
    _check_admin(actor)
    errors: dict[str, list[str]] = {}
    code, value, note = _clean(currency, rate, valid_from, note, errors)
    if not errors and ExchangeRate.objects.filter(currency=code, valid_from=valid_from).exists():
        errors["valid_from"] = [_("This currency already has a rate from this date.")]
    if errors or value is None:
        raise ValidationFailed(_("The exchange rate could not be saved."), field_errors=errors)
    row = ExchangeRate(currency=code, rate=value, valid_from=valid_from, note=note)
    _save(row, errors)
    record_event(actor=actor, verb="core.exchange_rate.created", target=row, data=_data(row))
    return row


@transaction.atomic
def exchange_rate_update(
    *, actor: Any, exchange_rate: ExchangeRate, currency: str, rate: object, valid_from: date, note: str = ""
) -> ExchangeRate:
    """Correct a rate (all fields given). Same checks as ``exchange_rate_create``; audits
    ``core.exchange_rate.updated`` with ``changes`` (``{field: [old, new]}``) when something
    changed, nothing otherwise."""
    _check_admin(actor)
    errors: dict[str, list[str]] = {}
    code, value, note = _clean(currency, rate, valid_from, note, errors)
    clash = ExchangeRate.objects.filter(currency=code, valid_from=valid_from).exclude(pk=exchange_rate.pk)
    if not errors and clash.exists():
        errors["valid_from"] = [_("This currency already has a rate from this date.")]
    if errors or value is None:
        raise ValidationFailed(_("The exchange rate could not be saved."), field_errors=errors)
    row = ExchangeRate.objects.select_for_update().get(pk=exchange_rate.pk)
    before = _data(row)
    row.currency, row.rate, row.valid_from, row.note = code, value, valid_from, note
    changes = changed_fields(before, _data(row))
    if changes:
        _save(row, errors)
        record_event(actor=actor, verb="core.exchange_rate.updated", target=row, data={"changes": changes})
    for key, new_value in _data(row).items():
        setattr(exchange_rate, key, new_value)  # the caller's instance shows the stored values
    return row


@transaction.atomic
def exchange_rate_delete(*, actor: Any, exchange_rate: ExchangeRate) -> None:
    """Delete a rate (conversions on its dates fall back to the previous one, or refuse).
    Raises ``Forbidden`` unless ``actor`` is an administrator. Audits
    ``core.exchange_rate.deleted`` with ``{currency, rate, valid_from, note}``."""
    _check_admin(actor)
    record_event(actor=actor, verb="core.exchange_rate.deleted", target=exchange_rate, data=_data(exchange_rate))
    exchange_rate.delete()
