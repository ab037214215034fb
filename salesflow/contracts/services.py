"""Writes of contracts (合同) and change orders (变更单).

Every function is keyword-only, checks the actor itself (documents: the writable ownership
scope of the contract's owner; unseen related ids are the callers' 404 through the access
functions, a related record of the wrong account is a ``ValidationFailed``), validates before
writing (``ValidationFailed`` naming the field, nothing written), owns its transaction,
locks the contract row for state transitions and records one typed audit event.

States: draft → (submit) → pending_approval → approved → (sign) → signed. A rejection or a
withdrawal brings the draft back with the approver's comment. Only a draft is edited: under
approval, approved and signed contracts refuse edits with ``Conflict`` (409). A signed
contract is archived read-only: every change is a change order (version N+1, number
BG-YYYY-NNNNN) that goes through approval and, once approved, becomes the current version.
Earlier versions are never changed.

A signed contract ends: the day after its end date the daily job makes it ``expired``
(:func:`contracts_expire_run`); a manager, an administrator or its owner may end it early
(:func:`contract_terminate`: ``terminated`` with a date and a reason). Both are read-only
(no edits, change orders, attachments or renewals of a terminated one); the apps whose
records depend on the contract react to a termination through registered followers
(billing: the instalments due after the termination date are cancelled).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypedDict

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesflow.attachments.services import Upload, attachment_add
from salesflow.catalogue.models import Product
from salesflow.contracts.diff import TERM_FIELDS
from salesflow.contracts.models import Contract, ContractLine, ContractSettings, ContractStatus, ContractVersion
from salesflow.contracts.permissions import can_write_contract, contracts_visible_to, may_write_for_owner
from salesflow.contracts.selectors import (
    contract_settings,
    diff_between,
    expiry_candidates,
    open_amendment,
    renewal_candidates,
)
from salesflow.core import approvals
from salesflow.core.audit import changed_fields, record_event
from salesflow.core.doctotals import LineInput, TotalTooLarge, document_totals
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.money import AmountError, currency_choices, default_currency, parse_amount
from salesflow.core.numbering import format_document_number, next_document_number
from salesflow.core.quantities import parse_percent, parse_quantity
from salesflow.core.schemas import text_error
from salesflow.core.selectors import RateMissing, convert
from salesflow.parties.models import Account
from salesflow.quotes.models import Quote, QuoteLine, QuoteStatus
from salesflow.sales.models import Opportunity
from salesflow.sales.permissions import opportunities_visible_to
from salesflow.sales.services import opportunity_create
from salesflow.users.choices import Role
from salesflow.users.models import User
from salesflow.users.policy import may_assign_owner

Errors = dict[str, list[str]]

KIND_CONTRACT = "contracts.contract"
KIND_AMENDMENT = "contracts.amendment"
TITLE_MAX = 200
TERMS_TEXT_MAX = 5000
REASON_MAX = 2000
MAX_LINES = 200
LINE_KEYS = frozenset(
    {"product_id", "code", "name_zh", "name_en", "unit", "quantity", "unit_price", "discount_percent", "tax_rate"}
)
DEFAULT_RENEWAL_DAYS = 60
RENEWAL_DAYS_MAX = 3650


class TermChanges(TypedDict, total=False):
    """The terms a draft contract or change order may change."""

    start_date: date | None
    end_date: date | None
    payment_terms: str
    delivery_terms: str
    special_clauses: str
    non_standard_terms: bool


TERM_KEYS: frozenset[str] = frozenset(TermChanges.__annotations__)
CONTRACT_KEYS: frozenset[str] = TERM_KEYS | {"title", "prices_include_tax"}


def _refuse(errors: Errors) -> None:
    if errors:
        raise ValidationFailed(_("The input is not valid."), field_errors=errors)


def _text(
    value: object, field: str, errors: Errors, *, max_length: int, multiline: bool, required: bool = False
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append(_("Enter text."))
        return ""
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > max_length:
        errors.setdefault(field, []).append(_("At most %(n)d characters.") % {"n": max_length})
        return ""
    reason = text_error(text, multiline=multiline)
    if reason:
        errors.setdefault(field, []).append(reason)
        return ""
    if required and not text:
        errors.setdefault(field, []).append(_("This field is required."))
    return text if multiline else " ".join(text.split())


def _date(value: object, field: str, errors: Errors) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors.setdefault(field, []).append(_("Enter a valid date."))
    return None


def _clean_terms(values: Mapping[str, Any], errors: Errors) -> dict[str, Any]:
    """The terms in ``values`` validated (only the keys present)."""
    out: dict[str, Any] = {}
    for key in ("start_date", "end_date"):
        if key in values:
            out[key] = _date(values[key], key, errors)
    for key in ("payment_terms", "delivery_terms", "special_clauses"):
        if key in values:
            out[key] = _text(values[key], key, errors, max_length=TERMS_TEXT_MAX, multiline=True)
    if "non_standard_terms" in values:
        flag = values["non_standard_terms"]
        if not isinstance(flag, bool):
            errors.setdefault("non_standard_terms", []).append(_("Choose yes or no."))
        else:
            out["non_standard_terms"] = flag
    return out


def _check_period(terms: Mapping[str, Any], errors: Errors) -> None:
    start, end = terms.get("start_date"), terms.get("end_date")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        errors.setdefault("end_date", []).append(_("The end date cannot be before the start date."))


def terms_json(terms: Mapping[str, Any]) -> dict[str, Any]:
    """A version's frozen terms (dates as ISO strings)."""
    out: dict[str, Any] = {}
    for key in TERM_FIELDS:
        value = terms.get(key)
        if key in ("start_date", "end_date"):
            out[key] = value.isoformat() if isinstance(value, date) else None
        elif key == "non_standard_terms":
            out[key] = bool(value)
        else:
            out[key] = value or ""
    return out


def _terms_of(contract: Contract) -> dict[str, Any]:
    return {key: getattr(contract, key) for key in TERM_FIELDS}


def _version_terms(version: ContractVersion) -> dict[str, Any]:
    """A version's terms with real dates."""
    raw = dict(version.terms or {})
    for key in ("start_date", "end_date"):
        raw[key] = date.fromisoformat(raw[key]) if raw.get(key) else None
    return {key: raw.get(key) for key in TERM_FIELDS}


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class _Line:
    product: Product | None
    code: str
    name_zh: str
    name_en: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal


def _parse_lines(raw: object, currency: str, errors: Errors) -> list[_Line]:
    """Lines as dicts (``LINE_KEYS``): a product (``product_id``, active) fills code, names,
    unit, price (same currency) and tax rate; a hand-entered line needs a name and a price."""
    if not isinstance(raw, list | tuple):
        errors.setdefault("lines", []).append(_("Give the lines as a list."))
        return []
    if len(raw) > MAX_LINES:
        errors.setdefault("lines", []).append(_("At most %(n)d lines.") % {"n": MAX_LINES})
        return []
    ids: set[int] = set()
    for item in raw:
        if isinstance(item, Mapping):
            pid = item.get("product_id")
            if isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid < 2**63:
                ids.add(pid)
    products = {p.pk: p for p in Product.objects.filter(pk__in=ids, active=True).select_related("category")}
    lines: list[_Line] = []
    for index, item in enumerate(raw):
        prefix = f"lines.{index}."
        if not isinstance(item, Mapping):
            errors.setdefault(f"lines.{index}", []).append(_("Give each line as an object."))
            continue
        unknown = sorted(str(k) for k in item if k not in LINE_KEYS)
        if unknown:
            errors.setdefault(f"lines.{index}", []).append(_("Unknown fields: %(f)s") % {"f": ", ".join(unknown)})
            continue
        product: Product | None = None
        pid = item.get("product_id")
        if pid is not None:
            product = products.get(pid) if isinstance(pid, int) and not isinstance(pid, bool) else None
            if product is None:
                errors.setdefault(prefix + "product_id", []).append(_("Select an active product."))
                continue
        name_zh = _text(item.get("name_zh"), prefix + "name_zh", errors, max_length=200, multiline=False)
        name_en = _text(item.get("name_en"), prefix + "name_en", errors, max_length=200, multiline=False)
        unit = _text(item.get("unit"), prefix + "unit", errors, max_length=20, multiline=False)
        code = _text(item.get("code"), prefix + "code", errors, max_length=40, multiline=False)
        if product is not None:
            name_zh, name_en = name_zh or product.name_zh, name_en or product.name_en
            unit, code = unit or product.unit, product.code
        if not name_zh and not name_en and prefix + "name_zh" not in errors:
            errors.setdefault(prefix + "name_zh", []).append(_("Enter the line's name."))
        try:
            quantity = parse_quantity(item.get("quantity", "1"))
        except AmountError as exc:
            errors.setdefault(prefix + "quantity", []).append(str(exc.message))
            quantity = Decimal(0)
        price_raw = item.get("unit_price")
        if price_raw is None and product is not None and product.currency == currency:
            price_raw = product.list_price
        try:
            if price_raw is None or price_raw == "":
                raise AmountError(_("Enter the unit price."))
            unit_price = parse_amount(price_raw, currency)
        except AmountError as exc:
            errors.setdefault(prefix + "unit_price", []).append(str(exc.message))
            unit_price = Decimal(0)
        percents: dict[str, Decimal] = {}
        for key, default in (
            ("discount_percent", Decimal(0)),
            ("tax_rate", product.tax_rate if product is not None else Decimal(0)),
        ):
            value = item.get(key)
            try:
                percents[key] = default if value is None or value == "" else parse_percent(value)
            except AmountError as exc:
                errors.setdefault(prefix + key, []).append(str(exc.message))
                percents[key] = Decimal(0)
        lines.append(
            _Line(
                product=product,
                code=code,
                name_zh=name_zh or name_en,
                name_en=name_en,
                unit=unit,
                quantity=quantity,
                unit_price=unit_price,
                discount_percent=percents["discount_percent"],
                tax_rate=percents["tax_rate"],
            )
        )
    return lines


def _priced(lines: Sequence[_Line], currency: str, prices_include_tax: bool, errors: Errors) -> Any:
    try:
        return document_totals(
            [LineInput(ln.quantity, ln.unit_price, ln.discount_percent, ln.tax_rate) for ln in lines],
            currency,
            prices_include_tax=prices_include_tax,
        )
    except TotalTooLarge:
        errors.setdefault("lines", []).append(_("The total is larger than the largest amount allowed."))
        return None


def _write_lines(version: ContractVersion, lines: Sequence[_Line], totals: Any) -> None:
    """Replace the version's lines and set its figures (from ``core.doctotals``)."""
    ContractLine.objects.filter(version=version).delete()
    ContractLine.objects.bulk_create(
        [
            ContractLine(
                version=version,
                position=index,
                product=line.product,
                code=line.code,
                name_zh=line.name_zh,
                name_en=line.name_en,
                unit=line.unit,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
                gross=figures.gross,
                discount=figures.discount,
                net=figures.net,
                tax=figures.tax,
                total=figures.total,
            )
            for index, (line, figures) in enumerate(zip(lines, totals.lines, strict=True))
        ]
    )
    for name in ("subtotal", "discount", "net", "tax", "total"):
        setattr(version, name, getattr(totals, name))


def _copy_lines(source: Sequence[QuoteLine | ContractLine], version: ContractVersion) -> None:
    ContractLine.objects.bulk_create(
        [
            ContractLine(
                version=version,
                position=line.position,
                product_id=line.product_id,
                code=line.code,
                name_zh=line.name_zh,
                name_en=line.name_en,
                unit=line.unit,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
                gross=line.gross,
                discount=line.discount,
                net=line.net,
                tax=line.tax,
                total=line.total,
            )
            for line in source
        ]
    )


def _lines_json(version: ContractVersion) -> list[list[str]]:
    return [
        [line.name_zh, str(line.quantity), str(line.unit_price), str(line.discount_percent), str(line.tax_rate)]
        for line in version.lines.order_by("position", "id")
    ]


# --------------------------------------------------------------------------- create


def _next_number(prefix: str, kind: str) -> str:
    year = timezone.localdate().year
    return format_document_number(prefix, year, next_document_number(kind, year))


def _check_owner(actor: User, owner: User, errors: Errors) -> None:
    if not may_write_for_owner(actor, owner.pk):
        raise Forbidden(_("You may not create contracts for this owner."))
    if owner.pk != actor.pk and not may_assign_owner(actor, owner):
        errors.setdefault("owner_id", []).append(_("You cannot assign records to this user."))


def _check_opportunity(actor: User, opportunity: Opportunity | None, account: Account, errors: Errors) -> None:
    if opportunity is None:
        return
    if not opportunities_visible_to(actor).filter(pk=opportunity.pk).exists():
        errors.setdefault("opportunity_id", []).append(_("Select an opportunity you can see."))
    elif opportunity.account_id != account.pk:
        errors.setdefault("opportunity_id", []).append(_("The opportunity belongs to another account."))


def _new_contract(
    *, actor: User, values: dict[str, Any], version_fields: dict[str, Any], quote: Quote | None
) -> tuple[Contract, ContractVersion]:
    contract = Contract.objects.create(number=_next_number("HT", "contract"), quote=quote, **values)
    version = ContractVersion.objects.create(
        contract=contract,
        version=1,
        status=ContractStatus.DRAFT,
        terms=terms_json(_terms_of(contract)),
        created_by=actor,
        **version_fields,
    )
    contract.current_version = version
    contract.save(update_fields=["current_version", "updated_at"])
    return contract, version


@transaction.atomic
def contract_create(
    *,
    actor: User,
    account: Account,
    title: str,
    lines: Sequence[Mapping[str, Any]] = (),
    owner: User | None = None,
    opportunity: Opportunity | None = None,
    currency: str | None = None,
    prices_include_tax: bool = False,
    terms: Mapping[str, Any] | None = None,
) -> Contract:
    """Create a draft contract entered directly: number ``HT-YYYY-NNNNN`` (gapless), version 1
    with the lines priced by ``core.doctotals``. The caller resolved ``account`` and
    ``opportunity`` through the access functions; the actor must be able to write documents of
    ``owner`` (default: the actor). Raises ``Forbidden`` / ``ValidationFailed``. Audits
    ``contracts.contract.created``."""
    owner = owner or actor
    errors: Errors = {}
    _check_owner(actor, owner, errors)
    title = _text(title, "title", errors, max_length=TITLE_MAX, multiline=False, required=True)
    currency = (currency or default_currency()).strip().upper()
    if currency not in {code for code, _label in currency_choices()}:
        errors.setdefault("currency", []).append(_("Choose a supported currency."))
        currency = default_currency()
    _check_opportunity(actor, opportunity, account, errors)
    clean = _clean_terms(terms or {}, errors)
    _check_period(clean, errors)
    if not isinstance(prices_include_tax, bool):
        errors.setdefault("prices_include_tax", []).append(_("Choose yes or no."))
        prices_include_tax = False
    parsed = _parse_lines(list(lines), currency, errors)
    totals = _priced(parsed, currency, prices_include_tax, errors) if not errors else None
    _refuse(errors)
    assert totals is not None
    values = {
        "title": title,
        "account": account,
        "owner": owner,
        "opportunity": opportunity,
        "currency": currency,
        "total": totals.total,
        **{key: clean.get(key) for key in ("start_date", "end_date")},
        **{key: clean.get(key, "") for key in ("payment_terms", "delivery_terms", "special_clauses")},
        "non_standard_terms": bool(clean.get("non_standard_terms", False)),
    }
    contract, version = _new_contract(
        actor=actor, values=values, version_fields={"prices_include_tax": prices_include_tax}, quote=None
    )
    _write_lines(version, parsed, totals)
    version.save()
    record_event(
        actor=actor,
        verb="contracts.contract.created",
        target=contract,
        data={
            "number": contract.number,
            "title": contract.title,
            "owner": owner.pk,
            "total": contract.total,
            "currency": currency,
            "quote_id": None,
        },
        related=[account, opportunity],
    )
    return contract


@transaction.atomic
def contract_create_from_quote(
    *, actor: User, quote: Quote, title: str = "", terms: Mapping[str, Any] | None = None
) -> Contract:
    """Create a draft contract from an accepted quote (resolved by the caller through
    ``get_quote_for_user``): account, opportunity, owner, currency, tax mode, lines and totals
    are copied exactly from the quote's accepted version. One contract per quote (``Conflict``
    otherwise); a quote that is not accepted is ``Conflict``. Audits ``contracts.contract.created``."""
    quote = Quote.objects.select_for_update().select_related("account", "owner", "opportunity").get(pk=quote.pk)
    if quote.status != QuoteStatus.ACCEPTED or quote.accepted_version_id is None:
        raise Conflict(_("Only an accepted quote can become a contract."), code="quote_not_accepted")
    existing = Contract.objects.filter(quote=quote).exclude(status=ContractStatus.TERMINATED).first()
    if existing is not None:
        raise Conflict(
            _("Quote %(quote)s already has the contract %(number)s.")
            % {"quote": quote.number, "number": existing.number},
            code="contract_exists",
        )
    errors: Errors = {}
    if not may_write_for_owner(actor, quote.owner_id):
        raise Forbidden(_("You may not create contracts for this owner."))
    title = _text(title or quote.title, "title", errors, max_length=TITLE_MAX, multiline=False, required=True)
    clean = _clean_terms(terms or {}, errors)
    _check_period(clean, errors)
    _refuse(errors)
    accepted = quote.accepted_version
    assert accepted is not None
    if not clean.get("payment_terms") and accepted.terms:
        clean["payment_terms"] = accepted.terms[:TERMS_TEXT_MAX]
    values = {
        "title": title,
        "account": quote.account,
        "owner": quote.owner,
        "opportunity": quote.opportunity,
        "currency": quote.currency,
        "total": accepted.total,
        **{key: clean.get(key) for key in ("start_date", "end_date")},
        **{key: clean.get(key, "") for key in ("payment_terms", "delivery_terms", "special_clauses")},
        "non_standard_terms": bool(clean.get("non_standard_terms", False)),
    }
    contract, version = _new_contract(
        actor=actor,
        values=values,
        version_fields={
            "prices_include_tax": accepted.prices_include_tax,
            **{name: getattr(accepted, name) for name in ("subtotal", "discount", "net", "tax", "total")},
        },
        quote=quote,
    )
    _copy_lines(list(QuoteLine.objects.filter(version=accepted).order_by("position", "id")), version)
    record_event(
        actor=actor,
        verb="contracts.contract.created",
        target=contract,
        data={
            "number": contract.number,
            "title": contract.title,
            "owner": quote.owner_id,
            "total": contract.total,
            "currency": contract.currency,
            "quote_id": quote.pk,
        },
        related=[quote.account, quote.opportunity, quote],
    )
    return contract


# --------------------------------------------------------------------------- edit


def _current_version(contract: Contract, *, lock: bool = False) -> ContractVersion:
    version_id = contract.current_version_id
    assert version_id is not None  # every contract has version 1 from its creation
    qs = ContractVersion.objects.select_for_update() if lock else ContractVersion.objects.all()
    return qs.get(pk=version_id)


def _lock(contract: Contract) -> Contract:
    return Contract.objects.select_for_update().select_related("account", "owner").get(pk=contract.pk)


def _refuse_unless_draft(contract: Contract) -> None:
    if contract.status == ContractStatus.SIGNED:
        raise Conflict(
            _("The contract is signed and archived: it cannot be changed. Open a change order instead."),
            code="contract_signed",
        )
    if contract.status == ContractStatus.PENDING_APPROVAL:
        raise Conflict(_("The contract is under approval and cannot be changed."), code="under_approval")
    if contract.status != ContractStatus.DRAFT:
        raise Conflict(_("Only a draft contract can be changed."), code="not_draft")


def _unknown(changes: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(str(key) for key in changes if key not in allowed)
    if unknown:
        raise ValidationFailed(
            _("Unknown fields: %(f)s") % {"f": ", ".join(unknown)},
            field_errors={key: [_("This field cannot be changed here.")] for key in unknown},
        )


@transaction.atomic
def contract_update(
    *,
    actor: User,
    contract: Contract,
    changes: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]] | None = None,
) -> Contract:
    """Change a draft contract's title, terms, tax mode and (when given) its lines; version 1
    follows. ``Conflict`` (409) under approval, once approved or signed. Audits
    ``contracts.contract.updated`` with the changed fields (lines as their totals)."""
    if not can_write_contract(actor, contract):
        raise Forbidden(_("You may not change this contract."))
    contract = _lock(contract)
    _refuse_unless_draft(contract)
    _unknown(changes, frozenset(CONTRACT_KEYS))
    version = _current_version(contract, lock=True)
    errors: Errors = {}
    clean = _clean_terms(changes, errors)
    if "title" in changes:
        clean["title"] = _text(changes["title"], "title", errors, max_length=TITLE_MAX, multiline=False, required=True)
    include_tax = version.prices_include_tax
    if "prices_include_tax" in changes:
        if not isinstance(changes["prices_include_tax"], bool):
            errors.setdefault("prices_include_tax", []).append(_("Choose yes or no."))
        else:
            include_tax = changes["prices_include_tax"]
    merged = {**_terms_of(contract), **clean}
    _check_period(merged, errors)
    parsed = _parse_lines(list(lines), contract.currency, errors) if lines is not None else None
    totals = None
    if not errors and (parsed is not None or include_tax != version.prices_include_tax):
        if parsed is None:
            parsed = _current_lines_as_input(version)
        totals = _priced(parsed, contract.currency, include_tax, errors)
    _refuse(errors)
    before = {key: getattr(contract, key) for key in clean} | {"total": contract.total}
    before_lines = _lines_json(version)
    for key, value in clean.items():
        setattr(contract, key, value)
    if totals is not None and parsed is not None:
        version.prices_include_tax = include_tax
        _write_lines(version, parsed, totals)
        contract.total = version.total
    version.terms = terms_json(_terms_of(contract))
    version.save()
    contract.save()
    after = {key: getattr(contract, key) for key in clean} | {"total": contract.total}
    changes_out = changed_fields(before, after)
    after_lines = _lines_json(version)
    if after_lines != before_lines:
        changes_out["lines"] = [len(before_lines), len(after_lines)]
    record_event(actor=actor, verb="contracts.contract.updated", target=contract, data={"changes": changes_out})
    return contract


def _current_lines_as_input(version: ContractVersion) -> list[_Line]:
    return [
        _Line(
            product=line.product,
            code=line.code,
            name_zh=line.name_zh,
            name_en=line.name_en,
            unit=line.unit,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            tax_rate=line.tax_rate,
        )
        for line in version.lines.select_related("product").order_by("position", "id")
    ]


# --------------------------------------------------------------------------- approval


def approval_facts(contract: Contract, version: ContractVersion) -> dict[str, Any]:
    """The facts approval rules read (``core.approvals.FACT_KEYS``). The amount is converted
    to the company currency at today's rate (``ValidationFailed`` on ``currency`` without one)."""
    try:
        amount, _rate = convert(version.total, contract.currency, timezone.localdate())
    except RateMissing:
        raise ValidationFailed(
            _("No exchange rate for %(currency)s today: an administrator must enter one before approval.")
            % {"currency": contract.currency},
            field_errors={"currency": [_("No exchange rate for this currency today.")]},
        ) from None
    lines = list(version.lines.select_related("product__category"))
    discounts = [line.discount_percent for line in lines]
    product_lines = sorted(
        {line.product.category.code for line in lines if line.product is not None and line.product.category}
    )
    costs = [line.product.cost if line.product is not None else None for line in lines]
    margin: Decimal | None = None
    if lines and all(cost is not None for cost in costs) and version.net > 0:
        cost_total = sum(
            (Decimal(cost) * line.quantity for cost, line in zip(costs, lines, strict=True) if cost is not None),
            Decimal(0),
        )
        margin = ((version.net - cost_total) / version.net * 100).quantize(Decimal("0.01"))
    terms = version.terms or {}
    account = contract.account
    region = account.region
    return {
        "amount": amount,
        "currency": contract.currency,
        "discount_percent": max(discounts) if discounts else Decimal(0),
        "margin_percent": margin,
        "region": region.code if region is not None else "",
        "product_lines": product_lines,
        "customer_grade": account.grade or "",
        "non_standard_terms": bool(terms.get("non_standard_terms") or str(terms.get("special_clauses") or "").strip()),
        "owner_id": contract.owner_id,
        "team_id": contract.owner.team_id,
    }


def _require_lines(version: ContractVersion) -> None:
    if not version.lines.exists():
        raise ValidationFailed(
            _("Add at least one line before submitting."), field_errors={"lines": [_("Add at least one line.")]}
        )


@transaction.atomic
def contract_submit(*, actor: User, contract: Contract) -> Contract:
    """Submit a draft contract for approval through the engine (``core.approvals``).
    ``approved`` (no rule matched) → the contract is approved now; ``pending`` → it waits
    under approval (no edits) until the engine calls back. Audits ``contracts.contract.submitted``."""
    if not can_write_contract(actor, contract):
        raise Forbidden(_("You may not change this contract."))
    contract = _lock(contract)
    _refuse_unless_draft(contract)
    version = _current_version(contract, lock=True)
    _require_lines(version)
    facts = approval_facts(contract, version)
    submission = approvals.submit_for_approval(
        actor=actor,
        kind=KIND_CONTRACT,
        target=contract,
        facts=facts,
        summary=_("Contract %(number)s %(title)s: %(total)s %(currency)s")
        % {
            "number": contract.number,
            "title": contract.title,
            "total": f"{contract.total:,}",
            "currency": contract.currency,
        },
    )
    version.decision_comment = ""
    if submission.status == "approved":
        _mark_approved(contract, version)
    else:
        contract.status = version.status = ContractStatus.PENDING_APPROVAL
        contract.save(update_fields=["status", "updated_at"])
        version.save(update_fields=["status", "decision_comment", "updated_at"])
    record_event(
        actor=actor,
        verb="contracts.contract.submitted",
        target=contract,
        data={"status": contract.status, "request_id": submission.request_id, "total": contract.total},
    )
    if submission.status == "approved":
        record_event(actor=actor, verb="contracts.contract.approved", target=contract, data={"version": 1})
    return contract


def _mark_approved(contract: Contract, version: ContractVersion) -> None:
    contract.status = version.status = ContractStatus.APPROVED
    version.approved_at = timezone.now()
    contract.save(update_fields=["status", "updated_at"])
    version.save(update_fields=["status", "approved_at", "decision_comment", "updated_at"])


def contract_on_approved(target: Contract, actor: Any) -> None:
    """Engine callback (inside the decision's transaction; the engine checked the approver):
    a contract under approval becomes approved. Any other state: ``Conflict``."""
    contract = _lock(target)
    if contract.status != ContractStatus.PENDING_APPROVAL:
        raise Conflict(_("The contract is not under approval."), code="not_pending")
    version = _current_version(contract, lock=True)
    _mark_approved(contract, version)
    record_event(actor=actor, verb="contracts.contract.approved", target=contract, data={"version": version.version})


def _back_to_draft(target: Contract, actor: Any, comment: str, *, withdrawn: bool) -> None:
    contract = _lock(target)
    if contract.status != ContractStatus.PENDING_APPROVAL:
        raise Conflict(_("The contract is not under approval."), code="not_pending")
    version = _current_version(contract, lock=True)
    contract.status = version.status = ContractStatus.DRAFT
    version.decision_comment = (comment or "")[:REASON_MAX]
    contract.save(update_fields=["status", "updated_at"])
    version.save(update_fields=["status", "decision_comment", "updated_at"])
    record_event(
        actor=actor,
        verb="contracts.contract.rejected",
        target=contract,
        data={"version": version.version, "comment": version.decision_comment, "withdrawn": withdrawn},
    )


def contract_on_rejected(target: Contract, actor: Any, comment: str) -> None:
    """Engine callback: the contract is a draft again, the comment shown on its page."""
    _back_to_draft(target, actor, comment, withdrawn=False)


def contract_on_withdrawn(target: Contract, actor: Any) -> None:
    """Engine callback: the requester withdrew; the contract is a draft again."""
    _back_to_draft(target, actor, "", withdrawn=True)


# --------------------------------------------------------------------------- signing


@transaction.atomic
def contract_sign(*, actor: User, contract: Contract, signed_on: object, upload: Upload | None) -> Contract:
    """Record the signature of an approved contract: the signed date (not in the future, not
    before the contract was created) and the signed file, attached to the contract as kind
    ``contract`` (validated by ``attachments``). The contract and version 1 become ``signed``
    and read-only. ``Conflict`` unless approved. Audits ``contracts.contract.signed``."""
    if not can_write_contract(actor, contract):
        raise Forbidden(_("You may not change this contract."))
    contract = _lock(contract)
    if contract.status == ContractStatus.SIGNED:
        raise Conflict(_("The contract is already signed."), code="contract_signed")
    if contract.status != ContractStatus.APPROVED:
        raise Conflict(_("Only an approved contract can be signed."), code="not_approved")
    errors: Errors = {}
    day = _date(signed_on, "signed_on", errors)
    if day is None and "signed_on" not in errors:
        errors["signed_on"] = [_("Enter the date the contract was signed.")]
    elif day is not None and day > timezone.localdate():
        errors["signed_on"] = [_("The signed date cannot be in the future.")]
    if upload is None:
        errors["file"] = [_("Upload the signed contract.")]
    _refuse(errors)
    attachment = attachment_add(actor=actor, record=contract, upload=upload, kind="contract")
    version = _current_version(contract, lock=True)
    contract.status = version.status = ContractStatus.SIGNED
    contract.signed_on = day
    contract.signed_at = timezone.now()
    contract.signed_file = attachment
    contract.save(update_fields=["status", "signed_on", "signed_at", "signed_file", "updated_at"])
    version.save(update_fields=["status", "updated_at"])
    record_event(
        actor=actor,
        verb="contracts.contract.signed",
        target=contract,
        data={"signed_on": day, "attachment_id": attachment.pk, "file_name": attachment.file_name},
    )
    return contract


# --------------------------------------------------------------------------- amendments


@transaction.atomic
def amendment_create(*, actor: User, contract: Contract, reason: str) -> ContractVersion:
    """Open a change order on a signed contract: version N+1 (number ``BG-YYYY-NNNNN``) as a
    draft copy of the current version's terms and lines, with the reason. One open change
    order at a time (``Conflict``). Audits ``contracts.amendment.created``."""
    if not can_write_contract(actor, contract):
        raise Forbidden(_("You may not change this contract."))
    contract = _lock(contract)
    if contract.status != ContractStatus.SIGNED:
        raise Conflict(_("Only a signed contract can be amended."), code="not_signed")
    errors: Errors = {}
    reason = _text(reason, "reason", errors, max_length=REASON_MAX, multiline=True, required=True)
    _refuse(errors)
    if open_amendment(contract) is not None:
        raise Conflict(_("This contract already has an open change order."), code="amendment_open")
    current = _current_version(contract)
    last = ContractVersion.objects.filter(contract=contract).order_by("-version").values_list("version", flat=True)[0]
    version = ContractVersion.objects.create(
        contract=contract,
        version=last + 1,
        number=_next_number("BG", "change_order"),
        status=ContractStatus.DRAFT,
        change_summary=reason,
        terms=dict(current.terms),
        prices_include_tax=current.prices_include_tax,
        created_by=actor,
        **{name: getattr(current, name) for name in ("subtotal", "discount", "net", "tax", "total")},
    )
    _copy_lines(list(current.lines.order_by("position", "id")), version)
    record_event(
        actor=actor,
        verb="contracts.amendment.created",
        target=contract,
        data={"version": version.version, "number": version.number, "reason": reason},
    )
    return version


def _lock_amendment(actor: User, version: ContractVersion) -> tuple[Contract, ContractVersion]:
    contract = Contract.objects.select_related("owner").get(pk=version.contract_id)
    if not can_write_contract(actor, contract):
        raise Forbidden(_("You may not change this contract."))
    contract = _lock(contract)
    if contract.status != ContractStatus.SIGNED:
        raise Conflict(_("The contract has ended: its change orders are read-only."), code="contract_ended")
    locked = ContractVersion.objects.select_for_update().get(pk=version.pk)
    if locked.version == 1 or locked.pk == contract.current_version_id:
        raise Conflict(_("This version is not an open change order."), code="not_amendment")
    if locked.status == ContractStatus.PENDING_APPROVAL:
        raise Conflict(_("The change order is under approval and cannot be changed."), code="under_approval")
    if locked.status != ContractStatus.DRAFT:
        raise Conflict(_("The change order is approved and archived: it cannot be changed."), code="archived")
    return contract, locked


@transaction.atomic
def amendment_update(
    *,
    actor: User,
    version: ContractVersion,
    changes: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]] | None = None,
) -> ContractVersion:
    """Change a draft change order's terms, reason and (when given) lines. ``Conflict`` once
    submitted or approved. Audits ``contracts.amendment.updated``."""
    contract, version = _lock_amendment(actor, version)
    _unknown(changes, frozenset(TERM_KEYS | {"reason"}))
    errors: Errors = {}
    clean = _clean_terms(changes, errors)
    before_terms = _version_terms(version)
    merged = {**before_terms, **clean}
    _check_period(merged, errors)
    reason = version.change_summary
    if "reason" in changes:
        reason = _text(changes["reason"], "reason", errors, max_length=REASON_MAX, multiline=True, required=True)
    parsed = _parse_lines(list(lines), contract.currency, errors) if lines is not None else None
    totals = _priced(parsed, contract.currency, version.prices_include_tax, errors) if parsed is not None else None
    _refuse(errors)
    before = {**terms_json(before_terms), "reason": version.change_summary, "total": version.total}
    before_lines = _lines_json(version)
    version.terms = terms_json(merged)
    version.change_summary = reason
    if parsed is not None and totals is not None:
        _write_lines(version, parsed, totals)
    version.save()
    after = {**version.terms, "reason": reason, "total": version.total}
    changes_out = changed_fields(before, after)
    after_lines = _lines_json(version)
    if after_lines != before_lines:
        changes_out["lines"] = [len(before_lines), len(after_lines)]
    record_event(
        actor=actor,
        verb="contracts.amendment.updated",
        target=contract,
        data={"version": version.version, "changes": changes_out},
    )
    return version


@transaction.atomic
def amendment_submit(*, actor: User, version: ContractVersion) -> ContractVersion:
    """Submit a draft change order for approval (kind ``contracts.amendment``); approved at
    once when no rule matches (then applied: see :func:`amendment_on_approved`). Audits
    ``contracts.amendment.submitted``."""
    contract, version = _lock_amendment(actor, version)
    _require_lines(version)
    submission = approvals.submit_for_approval(
        actor=actor,
        kind=KIND_AMENDMENT,
        target=version,
        facts=approval_facts(contract, version),
        summary=_("Change order %(number)s to contract %(contract)s: %(total)s %(currency)s")
        % {
            "number": version.number,
            "contract": contract.number,
            "total": f"{version.total:,}",
            "currency": contract.currency,
        },
    )
    version.decision_comment = ""
    if submission.status == "pending":
        version.status = ContractStatus.PENDING_APPROVAL
        version.save(update_fields=["status", "decision_comment", "updated_at"])
    record_event(
        actor=actor,
        verb="contracts.amendment.submitted",
        target=contract,
        data={
            "version": version.version,
            "status": "approved" if submission.status == "approved" else version.status,
            "request_id": submission.request_id,
            "total": version.total,
        },
    )
    if submission.status == "approved":
        _apply_amendment(contract, version, actor)
    return version


def _apply_amendment(contract: Contract, version: ContractVersion, actor: Any) -> None:
    """The approved change order becomes the current version: the contract's terms and total
    follow it; the previous version stays as it was (read-only)."""
    previous = _current_version(contract)
    diff = diff_between(previous, version)
    terms = _version_terms(version)
    before = {key: getattr(contract, key) for key in TERM_FIELDS} | {"total": contract.total}
    for key in TERM_FIELDS:
        setattr(contract, key, terms[key] if key != "non_standard_terms" else bool(terms[key]))
    for key in ("payment_terms", "delivery_terms", "special_clauses"):
        setattr(contract, key, terms[key] or "")
    contract.total = version.total
    contract.current_version = version
    contract.renewal_reminded_on = None if contract.end_date != before["end_date"] else contract.renewal_reminded_on
    contract.save()
    version.status = ContractStatus.APPROVED
    version.approved_at = timezone.now()
    version.save(update_fields=["status", "approved_at", "decision_comment", "updated_at"])
    after = {key: getattr(contract, key) for key in TERM_FIELDS} | {"total": contract.total}
    changes = changed_fields(before, after)
    if diff.added or diff.removed or diff.changed:
        changes["lines"] = [
            len(diff.removed) + len(diff.changed),
            len(diff.added) + len(diff.changed),
        ]
    record_event(
        actor=actor,
        verb="contracts.amendment.approved",
        target=contract,
        data={"version": version.version, "number": version.number, "changes": changes},
    )


def _locked_pending(target: ContractVersion) -> tuple[Contract, ContractVersion]:
    version = ContractVersion.objects.select_for_update().get(pk=target.pk)
    contract = _lock(Contract(pk=version.contract_id))
    if version.status != ContractStatus.PENDING_APPROVAL:
        raise Conflict(_("The change order is not under approval."), code="not_pending")
    return contract, version


def amendment_on_approved(target: ContractVersion, actor: Any) -> None:
    """Engine callback: the change order becomes the contract's current version (audited)."""
    contract, version = _locked_pending(target)
    _apply_amendment(contract, version, actor)


def _amendment_back(target: ContractVersion, actor: Any, comment: str, *, withdrawn: bool) -> None:
    contract, version = _locked_pending(target)
    version.status = ContractStatus.DRAFT
    version.decision_comment = (comment or "")[:REASON_MAX]
    version.save(update_fields=["status", "decision_comment", "updated_at"])
    record_event(
        actor=actor,
        verb="contracts.amendment.rejected",
        target=contract,
        data={"version": version.version, "comment": version.decision_comment, "withdrawn": withdrawn},
    )


def amendment_on_rejected(target: ContractVersion, actor: Any, comment: str) -> None:
    """Engine callback: the change order is a draft again, with the approver's comment."""
    _amendment_back(target, actor, comment, withdrawn=False)


def amendment_on_withdrawn(target: ContractVersion, actor: Any) -> None:
    """Engine callback: withdrawn by the requester; a draft again."""
    _amendment_back(target, actor, "", withdrawn=True)


# --------------------------------------------------------------------------- renewal


def renewal_name(contract: Contract) -> str:
    return f"续约：{contract.title}"[:200]


@transaction.atomic
def contract_renew(*, actor: User, contract: Contract) -> Opportunity:
    """Create the renewal opportunity of a signed (or expired) contract through the sales app's own
    ``opportunity_create`` (account, owner, "续约：<title>", amount = current total in the
    contract's currency, expected close = the end date when still ahead) and link it back.
    One renewal per contract (``Conflict``). Audits ``contracts.contract.renewed``."""
    if not can_write_contract(actor, contract):
        raise Forbidden(_("You may not change this contract."))
    contract = _lock(contract)
    if contract.status not in (ContractStatus.SIGNED, ContractStatus.EXPIRED):
        raise Conflict(_("Only a signed or expired contract can be renewed."), code="not_signed")
    if contract.renewal_opportunity_id is not None:
        raise Conflict(_("This contract already has a renewal opportunity."), code="already_renewed")
    today = timezone.localdate()
    close = contract.end_date if contract.end_date and contract.end_date >= today else None
    opportunity = opportunity_create(
        actor=actor,
        account=contract.account,
        owner=contract.owner,
        name=renewal_name(contract),
        amount=contract.total,
        currency=contract.currency,
        expected_close_date=close,
        description=_("Renewal of contract %(number)s.") % {"number": contract.number},
    )
    contract.renewal_opportunity = opportunity
    contract.save(update_fields=["renewal_opportunity", "updated_at"])
    record_event(
        actor=actor,
        verb="contracts.contract.renewed",
        target=contract,
        data={"opportunity_id": opportunity.pk, "amount": contract.total},
        related=[opportunity],
    )
    return opportunity


def renewal_reminders_run(*, today: date | None = None, days_before: int = DEFAULT_RENEWAL_DAYS) -> int:
    """The periodic job: for each signed contract ending within ``days_before`` days and not
    yet reminded for its current end date, record ``contracts.contract.renewal_due`` (the
    owner is notified) and remember the end date. Idempotent: a second run the same day, or
    any later day for the same end date, does nothing. Returns how many were reminded."""
    today = today or timezone.localdate()
    count = 0
    for pk in list(renewal_candidates(today, days_before).values_list("pk", flat=True)[:5000]):
        with transaction.atomic():
            contract = Contract.objects.select_for_update().filter(pk=pk, status=ContractStatus.SIGNED).first()
            if contract is None or contract.end_date is None or contract.renewal_reminded_on == contract.end_date:
                continue
            contract.renewal_reminded_on = contract.end_date
            contract.save(update_fields=["renewal_reminded_on", "updated_at"])
            record_event(
                actor=None,
                verb="contracts.contract.renewal_due",
                target=contract,
                data={
                    "owner": contract.owner_id,
                    "end_date": contract.end_date,
                    "days_left": (contract.end_date - today).days,
                },
            )
            count += 1
    return count


# --------------------------------------------------------------------------- approvables


def _can_read(user: Any, target: Any) -> bool:
    contract_id = target.pk if isinstance(target, Contract) else getattr(target, "contract_id", None)
    return bool(contract_id and contracts_visible_to(user).filter(pk=contract_id).exists())


def _url(target: Any) -> str:
    if isinstance(target, Contract):
        return reverse("contracts:detail", args=[target.pk])
    return reverse("contracts:version", args=[target.contract_id, target.version])


def register_approvables() -> None:
    """Register the two approvable kinds (``ContractsConfig.ready``)."""
    approvals.register_approvable(
        approvals.Approvable(
            kind=KIND_CONTRACT,
            model=Contract,
            label=gettext_lazy("Contract"),
            url=_url,
            can_read=_can_read,
            on_approved=contract_on_approved,
            on_rejected=contract_on_rejected,
            on_withdrawn=contract_on_withdrawn,
        )
    )
    approvals.register_approvable(
        approvals.Approvable(
            kind=KIND_AMENDMENT,
            model=ContractVersion,
            label=gettext_lazy("Change order"),
            url=_url,
            can_read=_can_read,
            on_approved=amendment_on_approved,
            on_rejected=amendment_on_rejected,
            on_withdrawn=amendment_on_withdrawn,
        )
    )


# --------------------------------------------------------------------------- expiry and termination

#: ``follower(actor, contract)`` run by :func:`contract_terminate` inside its transaction, after
#: the contract is terminated: apps above contracts (billing) close what depends on it through
#: their own services; a refusal (``Forbidden``/``Conflict``) rolls the termination back.
TerminationFollower = Callable[[User, Contract], None]
_termination_followers: list[TerminationFollower] = []


def register_termination_follower(follower: TerminationFollower) -> None:
    """Register (once) a follower of terminations; see ``_termination_followers``."""
    if follower not in _termination_followers:
        _termination_followers.append(follower)


def may_terminate(actor: User, contract: Contract) -> bool:
    """Managers and administrators over the contract's owner, and the owner, may terminate it
    (the writable ownership scope without assistants and shares: ending a contract is a
    commercial decision, not paperwork)."""
    if not can_write_contract(actor, contract):
        return False
    return actor.is_admin or actor.role == Role.MANAGER or actor.pk == contract.owner_id


@transaction.atomic
def contract_terminate(*, actor: User, contract: Contract, terminated_on: object, reason: object) -> Contract:
    """End a signed contract early: status ``terminated`` with ``terminated_on`` (not before
    it was signed or started, not after its end date, not in the future) and a required
    ``reason``; who and when are kept. The contract becomes read-only. The registered
    followers run in the same transaction (billing cancels the instalments due after the
    date; see ``billing.services.billing_follow_termination``).

    ``Forbidden`` unless :func:`may_terminate`; ``Conflict`` unless signed (``not_signed``) or
    while a change order is under approval (``amendment_pending``); ``ValidationFailed`` on
    ``terminated_on`` / ``reason``, nothing written. Audits ``contracts.contract.terminated``.
    """
    if not may_terminate(actor, contract):
        raise Forbidden(_("Only a manager, an administrator or the owner may terminate this contract."))
    contract = _lock(contract)
    if contract.status != ContractStatus.SIGNED:
        raise Conflict(_("Only a signed contract can be terminated."), code="not_signed")
    amendment = open_amendment(contract)
    if amendment is not None and amendment.status == ContractStatus.PENDING_APPROVAL:
        raise Conflict(
            _("A change order is under approval: withdraw it or wait for the decision first."),
            code="amendment_pending",
        )
    errors: Errors = {}
    day = _date(terminated_on, "terminated_on", errors)
    today = timezone.localdate()
    if day is None and "terminated_on" not in errors:
        errors["terminated_on"] = [_("Enter the date the contract ends.")]
    elif day is not None:
        earliest = max(d for d in (contract.signed_on, contract.start_date, date(2000, 1, 1)) if d is not None)
        if day > today:
            errors["terminated_on"] = [_("The termination date cannot be in the future.")]
        elif day < earliest:
            errors["terminated_on"] = [
                _("The termination date cannot be before %(day)s.") % {"day": earliest.isoformat()}
            ]
        elif contract.end_date is not None and day > contract.end_date:
            errors["terminated_on"] = [_("The contract ends on its end date anyway: terminate it before that date.")]
    text = _text(reason, "reason", errors, max_length=REASON_MAX, multiline=True, required=True)
    _refuse(errors)
    assert day is not None
    contract.status = ContractStatus.TERMINATED
    contract.terminated_on = day
    contract.termination_reason = text
    contract.terminated_at = timezone.now()
    contract.terminated_by = actor if actor.pk else None
    contract.save(
        update_fields=[
            "status",
            "terminated_on",
            "termination_reason",
            "terminated_at",
            "terminated_by",
            "updated_at",
        ]
    )
    record_event(
        actor=actor,
        verb="contracts.contract.terminated",
        target=contract,
        data={"terminated_on": day, "reason": text, "end_date": contract.end_date},
        related=[contract.account],
    )
    for follower in _termination_followers:
        follower(actor, contract)
    return contract


def contracts_expire_run(*, today: date | None = None, limit: int = 5000) -> int:
    """The daily job: every signed contract whose end date is before ``today`` becomes
    ``expired`` (``expired_on`` = today), one ``contracts.contract.expired`` event each.
    Idempotent: a second run finds none (only signed contracts qualify, under a row lock, so
    a termination racing the job wins or loses whole). Returns how many expired."""
    today = today or timezone.localdate()
    count = 0
    for pk in list(expiry_candidates(today).values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            contract = Contract.objects.select_for_update().filter(pk=pk, status=ContractStatus.SIGNED).first()
            if contract is None or contract.end_date is None or contract.end_date >= today:
                continue
            contract.status = ContractStatus.EXPIRED
            contract.expired_on = today
            contract.save(update_fields=["status", "expired_on", "updated_at"])
            record_event(
                actor=None,
                verb="contracts.contract.expired",
                target=contract,
                data={"end_date": contract.end_date},
            )
            count += 1
    return count


# --------------------------------------------------------------------------- settings


def parse_days(value: object, field: str, *, low: int, high: int) -> int:
    """A whole number of days within ``low``–``high`` (an int, or text of digits); anything
    else — negative, huge, fractional, NaN, infinity, a boolean — is a ``ValidationFailed``
    naming ``field``."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value.strip()) <= 6:
        number = int(value.strip())
    if number is None or not low <= number <= high:
        raise ValidationFailed(
            _("The input is not valid."),
            field_errors={
                field: [_("Enter a whole number of days from %(low)d to %(high)d.") % {"low": low, "high": high}]
            },
        )
    return number


def contract_settings_save(*, actor: User, renewal_reminder_days: object) -> ContractSettings:
    """Administrators: the days before a signed contract's end date on which its owner is
    reminded of the renewal (1–3650; ``ValidationFailed`` on ``renewal_reminder_days``,
    ``Forbidden`` for anyone else). The renewal job reads it on its next run. Audits
    ``contracts.settings.updated`` with the change (nothing when nothing changed)."""
    if not actor.is_admin:
        raise Forbidden(_("Only administrators change the reminder settings."))
    days = parse_days(renewal_reminder_days, "renewal_reminder_days", low=1, high=RENEWAL_DAYS_MAX)
    with transaction.atomic():
        settings_row = ContractSettings.objects.select_for_update().filter(pk=1).first() or ContractSettings(pk=1)
        before = settings_row.renewal_reminder_days
        if settings_row._state.adding or before != days:
            settings_row.renewal_reminder_days = days
            settings_row.save()
            if before != days:
                record_event(
                    actor=actor,
                    verb="contracts.settings.updated",
                    target=settings_row,
                    data={"changes": {"renewal_reminder_days": [before, days]}},
                )
    return settings_row


def renewal_reminder_days() -> int:
    """The configured days before the end date (the settings row, else 60)."""
    return contract_settings().renewal_reminder_days
