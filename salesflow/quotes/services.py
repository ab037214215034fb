"""Writes of quotes (报价单): create, edit the draft, issue (submit for approval), the
approval callbacks, revise, send, the customer's decision, expiry and the company header.

Guarantees:

- Every write checks the actor itself: the deal must be writable to create a quote, the
  quote writable to change it (unseen → ``Http404``, seen but read-only → ``Forbidden``);
  every id the caller passes (contact, products) is resolved here and refused with a
  ``ValidationFailed`` naming the field when unknown.
- Only a ``draft`` version changes. Issued versions (under approval, approved, sent,
  accepted, declined, expired, superseded) are immutable: edits raise ``Conflict`` (409,
  code ``quote_not_editable``). Issuing freezes the customer's name, address, tax id and
  contact into ``QuoteVersion.customer``; prices, taxes and names are frozen in the lines
  when they are written.
- Figures come only from :func:`salesflow.core.doctotals.document_totals`.
- Numbers ``QT-YYYY-NNNNN`` come from :func:`salesflow.core.numbering.next_document_number`
  in the creating transaction (gapless; a rolled-back creation gives its number back).
- Transitions lock the quote row (``select_for_update``) and re-check the state, so two
  concurrent decisions, sends or revisions never both succeed.
- Each step writes one typed audit event (``quotes.quote.*``) in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.catalogue.models import Product
from salesflow.catalogue.services import amount_from_document
from salesflow.core.approvals import submit_for_approval
from salesflow.core.audit import changed_fields, record_event
from salesflow.core.doctotals import DocumentTotals, LineInput, TotalTooLarge, document_totals
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.money import AmountError, company_currency, parse_amount
from salesflow.core.numbering import format_document_number, next_document_number
from salesflow.core.quantities import parse_percent, parse_quantity
from salesflow.core.selectors import RateMissing, convert
from salesflow.core.tasks import enqueue_on_commit
from salesflow.parties.models import Contact
from salesflow.quotes.models import CompanyProfile, Quote, QuoteLanguage, QuoteLine, QuoteStatus, QuoteVersion
from salesflow.quotes.permissions import can_read_quote, can_write_quote
from salesflow.quotes.pricing import price_for
from salesflow.sales.models import Opportunity
from salesflow.sales.permissions import opportunities_visible_to, opportunities_writable_by
from salesflow.users.models import User

KIND = "quotes.quote"
SEQUENCE = "quote"
PREFIX = "QT"
TITLE_MAX = 200
TERMS_MAX = 5000
MAX_LINES = 200
LINE_TEXT_MAX = 200
UNIT_MAX = 20
CODE_MAX = 40
NAME_MAX = 100
REASON_MAX = 1000
MESSAGE_MAX = 2000
MAX_RECIPIENTS = 10
DEFAULT_VALIDITY_DAYS = 30
MAX_VALIDITY_DAYS = 730
LINE_KEYS = frozenset(
    {"product_id", "code", "name_zh", "name_en", "unit", "quantity", "unit_price", "discount_percent", "tax_rate"}
)
#: Statuses of a version from which the customer may decide (the public link works).
OPEN_FOR_DECISION = (QuoteStatus.APPROVED, QuoteStatus.SENT)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]")


def today_local() -> date:
    return timezone.localdate()


# --- input helpers ---------------------------------------------------------------------------


def clean_text(value: object, field: str, *, max_length: int, required: bool = False, multiline: bool = False) -> str:
    """Stripped text; ``ValidationFailed`` naming ``field`` for NUL/control characters, too
    long or (``required``) blank input."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(_("Invalid input."), field_errors={field: [_("Enter text.")]})
    text = value.strip()
    if (_CONTROL if multiline else _CONTROL_ONE_LINE).search(text):
        raise ValidationFailed(_("Invalid input."), field_errors={field: [_("Control characters are not allowed.")]})
    if len(text) > max_length:
        raise ValidationFailed(
            _("Invalid input."), field_errors={field: [_("Use at most %(max)d characters.") % {"max": max_length}]}
        )
    if required and not text:
        raise ValidationFailed(_("Invalid input."), field_errors={field: [_("This field is required.")]})
    return text


def _check_id(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise ValidationFailed(_("Invalid input."), field_errors={field: [_("Enter a valid id.")]})
    return value


def _language(value: object) -> str:
    if value not in QuoteLanguage.values:
        raise ValidationFailed(_("Invalid input."), field_errors={"language": [_("Choose Chinese or English.")]})
    return str(value)


def _valid_until(value: object, today: date) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationFailed(_("Invalid input."), field_errors={"valid_until": [_("Enter a valid date.")]})
    if value < today:
        raise ValidationFailed(
            _("Invalid input."), field_errors={"valid_until": [_("The date cannot be in the past.")]}
        )
    if value > today + timedelta(days=MAX_VALIDITY_DAYS):
        raise ValidationFailed(
            _("Invalid input."),
            field_errors={
                "valid_until": [_("A quote is valid for at most %(days)d days.") % {"days": MAX_VALIDITY_DAYS}]
            },
        )
    return value


def _contact(value: object, opportunity: Opportunity) -> Contact | None:
    if value is None:
        return None
    if isinstance(value, Contact):
        contact: Contact | None = value
    else:
        contact = Contact.objects.filter(pk=_check_id(value, "contact_id")).first()
    if contact is None or contact.account_id != opportunity.account_id:
        raise ValidationFailed(
            _("Invalid input."), field_errors={"contact_id": [_("Choose a contact of the deal's account.")]}
        )
    return contact


@dataclass(frozen=True)
class BuiltLines:
    lines: list[QuoteLine]
    totals: DocumentTotals


def _line_error(errors: dict[str, list[str]], index: int, key: str, message: str) -> None:
    errors.setdefault(f"lines.{index}.{key}", []).append(message)


def build_lines(
    raw_lines: object, *, opportunity: Opportunity, currency: str, prices_include_tax: bool, on: date
) -> BuiltLines:
    """Parse line specifications into unsaved ``QuoteLine`` rows with their figures.

    Each line is a mapping with the keys of :data:`LINE_KEYS`. With ``product_id`` (an
    active product) the code, names, unit, unit price, discount and tax rate default to
    the product and its applicable price (``pricing.price_for``); without, ``name_zh`` (or
    ``name_en``) and ``unit_price`` are required (a hand-entered line). Raises
    ``ValidationFailed`` with ``lines.<i>.<field>`` keys, or ``lines`` for the list itself
    and for totals above the maximum amount.
    """
    if not isinstance(raw_lines, Sequence) or isinstance(raw_lines, str | bytes):
        raise ValidationFailed(_("Invalid input."), field_errors={"lines": [_("Give a list of lines.")]})
    if len(raw_lines) > MAX_LINES:
        raise ValidationFailed(
            _("Invalid input."), field_errors={"lines": [_("At most %(max)d lines.") % {"max": MAX_LINES}]}
        )
    errors: dict[str, list[str]] = {}
    specs: list[dict[str, Any]] = []
    product_ids: set[int] = set()
    for index, raw in enumerate(raw_lines):
        if not isinstance(raw, Mapping):
            _line_error(errors, index, "line", _("Give each line as an object."))
            continue
        unknown = sorted(set(map(str, raw)) - LINE_KEYS)
        for key in unknown:
            _line_error(errors, index, key, _("Unknown field."))
        pid = raw.get("product_id")
        if pid is not None:
            if isinstance(pid, bool) or not isinstance(pid, int) or not 0 < pid < 2**63:
                _line_error(errors, index, "product_id", _("Enter a valid id."))
            else:
                product_ids.add(pid)
        specs.append(dict(raw))
    products = {p.pk: p for p in Product.objects.filter(pk__in=product_ids, active=True).select_related("category")}
    lines: list[QuoteLine] = []
    inputs: list[LineInput] = []
    for index, spec in enumerate(specs):
        product = products.get(spec["product_id"]) if isinstance(spec.get("product_id"), int) else None
        if spec.get("product_id") is not None and product is None:
            _line_error(errors, index, "product_id", _("Choose an active product."))
            continue
        texts: dict[str, str] = {}
        for key, limit in (
            ("code", CODE_MAX),
            ("name_zh", LINE_TEXT_MAX),
            ("name_en", LINE_TEXT_MAX),
            ("unit", UNIT_MAX),
        ):
            try:
                texts[key] = clean_text(spec.get(key), key, max_length=limit)
            except ValidationFailed as exc:
                _line_error(errors, index, key, exc.field_errors[key][0])
                texts[key] = ""
        try:
            quantity = parse_quantity(spec.get("quantity", "1") if spec.get("quantity") is not None else "1")
        except AmountError as exc:
            _line_error(errors, index, "quantity", str(exc.message))
            continue
        price = None
        if product is not None:
            texts["code"] = texts["code"] or product.code
            texts["name_zh"] = texts["name_zh"] or product.name_zh
            texts["name_en"] = texts["name_en"] or product.name_en
            texts["unit"] = texts["unit"] or product.unit
            # looked up only when the line leaves a figure to the price (a line copied with
            # its price, discount and tax, as the demo's are, needs no lookup)
            if any(spec.get(key) in (None, "") for key in ("unit_price", "discount_percent", "tax_rate")):
                price = price_for(
                    product=product, account=opportunity.account, currency=currency, quantity=quantity, on=on
                )
        if not texts["name_zh"]:
            texts["name_zh"] = texts["name_en"]
        if not texts["name_zh"]:
            _line_error(errors, index, "name_zh", _("Name the line or choose a product."))
        values: dict[str, Decimal] = {}
        raw_price = spec.get("unit_price")
        if raw_price in (None, ""):
            if price is None:
                message = (
                    _("No price applies to this product in %(currency)s: enter the unit price.")
                    % {"currency": currency}
                    if product is not None
                    else _("Enter the unit price.")
                )
                _line_error(errors, index, "unit_price", message)
            else:
                values["unit_price"] = price.unit_price
        else:
            try:
                values["unit_price"] = parse_amount(raw_price, currency)
            except AmountError as exc:
                _line_error(errors, index, "unit_price", str(exc.message))
        for key, default in (
            ("discount_percent", price.discount_percent if price else Decimal("0")),
            ("tax_rate", price.tax_rate if price else Decimal("0")),
        ):
            raw_value = spec.get(key)
            try:
                values[key] = parse_percent(default if raw_value in (None, "") else raw_value)
            except AmountError as exc:
                _line_error(errors, index, key, str(exc.message))
        if len(values) != 3 or any(k.startswith(f"lines.{index}.") for k in errors):
            continue
        inputs.append(LineInput(quantity, values["unit_price"], values["discount_percent"], values["tax_rate"]))
        lines.append(
            QuoteLine(
                position=index + 1,
                product=product,
                code=texts["code"],
                name_zh=texts["name_zh"],
                name_en=texts["name_en"],
                unit=texts["unit"],
                quantity=quantity,
                unit_price=values["unit_price"],
                discount_percent=values["discount_percent"],
                tax_rate=values["tax_rate"],
            )
        )
    if errors:
        raise ValidationFailed(_("Some lines are not valid."), field_errors=errors)
    try:
        totals = document_totals(inputs, currency, prices_include_tax=prices_include_tax)
    except TotalTooLarge:
        raise ValidationFailed(
            _("Invalid input."), field_errors={"lines": [_("The quote's total is above the largest amount allowed.")]}
        ) from None
    for line, figures in zip(lines, totals.lines, strict=True):
        line.gross, line.discount, line.net, line.tax, line.total = (
            figures.gross,
            figures.discount,
            figures.net,
            figures.tax,
            figures.total,
        )
    return BuiltLines(lines=lines, totals=totals)


def _apply_totals(version: QuoteVersion, totals: DocumentTotals) -> None:
    version.subtotal = totals.subtotal
    version.discount = totals.discount
    version.net = totals.net
    version.tax = totals.tax
    version.total = totals.total


def _replace_lines(version: QuoteVersion, built: BuiltLines) -> None:
    version.lines.all().delete()
    for line in built.lines:
        line.version = version
    QuoteLine.objects.bulk_create(built.lines)
    _apply_totals(version, built.totals)


def _lines_snapshot(version: QuoteVersion) -> list[list[str]]:
    return [
        [line.name_zh, f"{line.quantity}", f"{line.unit_price}", f"{line.discount_percent}", f"{line.tax_rate}"]
        for line in version.lines.all()
    ]


# --- access --------------------------------------------------------------------------------


def _require_deal_write(actor: User, opportunity: Opportunity) -> None:
    if not opportunities_writable_by(actor).filter(pk=opportunity.pk).exists():
        if opportunities_visible_to(actor).filter(pk=opportunity.pk).exists():
            raise Forbidden(_("You may not add quotes to this opportunity."))
        raise Http404("opportunity not found")


def _require_quote_write(actor: User, quote: Quote) -> None:
    if not can_write_quote(actor, quote):
        if can_read_quote(actor, quote):
            raise Forbidden(_("You may not change this quote."))
        raise Http404("quote not found")


def _lock(quote: Quote) -> tuple[Quote, QuoteVersion]:
    """The quote row locked for this transaction, and its current version (fresh)."""
    locked = (
        Quote.objects.select_for_update(of=("self",))
        .select_related("opportunity", "account", "contact")
        .get(pk=quote.pk)
    )
    assert locked.current_version_id is not None
    version = QuoteVersion.objects.get(pk=locked.current_version_id)
    return locked, version


def _not_editable(version: QuoteVersion) -> Conflict:
    return Conflict(
        _("Version %(version)d is %(status)s and can no longer be changed; revise the quote to make a new version.")
        % {"version": version.version, "status": version.get_status_display()},
        code="quote_not_editable",
    )


def _sync(quote: Quote, version: QuoteVersion) -> None:
    quote.status = version.status
    quote.total = version.total
    quote.save(update_fields=["status", "total", "current_version", "accepted_version", "updated_at"])


# --- create and edit -----------------------------------------------------------------------


def quote_create(
    *,
    actor: User,
    opportunity: Opportunity,
    title: str = "",
    contact: Contact | int | None = None,
    valid_until: date | None = None,
    prices_include_tax: bool = False,
    language: str = QuoteLanguage.ZH,
    terms: str = "",
    lines: Sequence[Mapping[str, Any]] = (),
    created_at: datetime | None = None,
) -> Quote:
    """A new quote on ``opportunity`` (owner = the deal's owner, currency = the deal's)
    with version 1 as a draft and the next gapless number ``QT-<year>-NNNNN``.

    ``created_at`` (imports and the demo only; never in the future) dates a historical
    quote: its creation time and the year of its number.

    Raises ``Http404`` (deal not visible), ``Forbidden`` (deal read-only),
    ``ValidationFailed`` (title, contact of another account, validity in the past or over
    two years, unknown language, a bad line — see :func:`build_lines`), ``Conflict`` for a
    closed-lost deal. Audits ``quotes.quote.created``.
    """
    _require_deal_write(actor, opportunity)
    if opportunity.outcome == "lost":
        raise Conflict(_("The opportunity is lost: reopen it before quoting."), code="deal_lost")
    today = today_local()
    title = clean_text(title, "title", max_length=TITLE_MAX) or opportunity.name[:TITLE_MAX]
    terms = clean_text(terms, "terms", max_length=TERMS_MAX, multiline=True)
    language = _language(language)
    until = _valid_until(valid_until or today + timedelta(days=DEFAULT_VALIDITY_DAYS), today)
    if not isinstance(prices_include_tax, bool):
        raise ValidationFailed(_("Invalid input."), field_errors={"prices_include_tax": [_("Enter true or false.")]})
    chosen = _contact(contact, opportunity)
    currency = opportunity.currency
    built = build_lines(
        lines, opportunity=opportunity, currency=currency, prices_include_tax=prices_include_tax, on=today
    )
    now = timezone.now()
    if created_at is not None and (created_at > now or created_at.tzinfo is None):
        raise ValidationFailed(_("Invalid input."), field_errors={"created_at": [_("Enter a past date.")]})
    with transaction.atomic():
        year = timezone.localtime(created_at or now).year
        number = format_document_number(PREFIX, year, next_document_number(SEQUENCE, year))
        quote = Quote.objects.create(
            number=number,
            opportunity=opportunity,
            account_id=opportunity.account_id,
            owner_id=opportunity.owner_id,
            title=title,
            currency=currency,
            contact=chosen,
            language=language,
        )
        if created_at is not None:
            Quote.objects.filter(pk=quote.pk).update(created_at=created_at)
            quote.created_at = created_at
        version = QuoteVersion.objects.create(
            quote=quote,
            version=1,
            valid_until=until,
            prices_include_tax=prices_include_tax,
            terms=terms,
            created_by=actor,
        )
        _replace_lines(version, built)
        version.save()
        quote.current_version = version
        _sync(quote, version)
        record_event(
            actor=actor,
            verb="quotes.quote.created",
            target=quote,
            data={
                "number": number,
                "opportunity_id": opportunity.pk,
                "version": 1,
                "total": version.total,
                "currency": currency,
            },
            related=[opportunity, opportunity.account],
        )
    return quote


QUOTE_FIELDS = frozenset({"title", "contact", "valid_until", "prices_include_tax", "language", "terms", "lines"})


def quote_update(*, actor: User, quote: Quote, **changes: Any) -> Quote:
    """Change the draft version's header (title, contact, validity, tax-inclusive prices,
    language, terms) and/or replace its ``lines``; fields left out keep their values.

    Raises ``Conflict`` (409, ``quote_not_editable``) unless the current version is a
    draft; ``ValidationFailed`` for unknown keys and bad values (nothing written);
    ``Forbidden``/``Http404`` for actors who may not write/see the quote. Audits
    ``quotes.quote.updated`` with ``changes``; an update that changes nothing writes nothing.
    """
    _require_quote_write(actor, quote)
    unknown = sorted(set(changes) - QUOTE_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("The quote could not be saved."),
            field_errors={key: [_("This field cannot be changed here.")] for key in unknown},
        )
    today = today_local()
    with transaction.atomic():
        quote, version = _lock(quote)
        if version.status != QuoteStatus.DRAFT:
            raise _not_editable(version)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        quote_fields: list[str] = []
        version_fields: list[str] = []
        if "title" in changes:
            before["title"], after["title"] = (
                quote.title,
                clean_text(changes["title"], "title", max_length=TITLE_MAX, required=True),
            )
            quote.title = after["title"]
            quote_fields.append("title")
        if "language" in changes:
            before["language"], after["language"] = quote.language, _language(changes["language"])
            quote.language = after["language"]
            quote_fields.append("language")
        if "contact" in changes:
            chosen = _contact(changes["contact"], quote.opportunity)
            before["contact"], after["contact"] = quote.contact_id, chosen.pk if chosen else None
            quote.contact = chosen
            quote_fields.append("contact")
        if "valid_until" in changes:
            before["valid_until"], after["valid_until"] = (
                version.valid_until,
                _valid_until(changes["valid_until"], today),
            )
            version.valid_until = after["valid_until"]
            version_fields.append("valid_until")
        if "terms" in changes:
            before["terms"], after["terms"] = (
                version.terms,
                clean_text(changes["terms"], "terms", max_length=TERMS_MAX, multiline=True),
            )
            version.terms = after["terms"]
            version_fields.append("terms")
        if "prices_include_tax" in changes:
            if not isinstance(changes["prices_include_tax"], bool):
                raise ValidationFailed(
                    _("Invalid input."), field_errors={"prices_include_tax": [_("Enter true or false.")]}
                )
            before["prices_include_tax"], after["prices_include_tax"] = (
                version.prices_include_tax,
                changes["prices_include_tax"],
            )
            version.prices_include_tax = changes["prices_include_tax"]
            version_fields.append("prices_include_tax")
        relines = "lines" in changes or "prices_include_tax" in changes
        if relines:
            raw = changes["lines"] if "lines" in changes else _line_specs(version)
            built = build_lines(
                raw,
                opportunity=quote.opportunity,
                currency=quote.currency,
                prices_include_tax=version.prices_include_tax,
                on=today,
            )
            old_lines = _lines_snapshot(version)
            _replace_lines(version, built)
            new_lines = _lines_snapshot(version)
            if old_lines != new_lines:
                before["lines"], after["lines"] = old_lines, new_lines
            version_fields += ["subtotal", "discount", "net", "tax", "total"]
        diff = changed_fields(before, after)
        if not diff and not relines:
            return quote
        if quote_fields:
            quote.save(update_fields=[*quote_fields, "updated_at"])
        if version_fields:
            version.save(update_fields=[*version_fields, "updated_at"])
        _sync(quote, version)
        if diff:
            record_event(
                actor=actor,
                verb="quotes.quote.updated",
                target=quote,
                data={"version": version.version, "changes": diff},
                related=[quote.opportunity],
            )
    return quote


def _line_specs(version: QuoteVersion) -> list[dict[str, Any]]:
    """The version's lines as specifications (their frozen values), for re-pricing."""
    return [
        {
            "product_id": line.product_id,
            "code": line.code,
            "name_zh": line.name_zh,
            "name_en": line.name_en,
            "unit": line.unit,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent,
            "tax_rate": line.tax_rate,
        }
        for line in version.lines.all()
    ]


# --- issue and approval ----------------------------------------------------------------------


def customer_snapshot(quote: Quote) -> dict[str, Any]:
    """The customer data frozen into a version at issue (name, address, tax id, contact)."""
    account = quote.account
    contact = quote.contact
    return {
        "name": account.name,
        "address": account.address,
        "tax_id": account.credit_code,
        "phone": account.phone,
        "contact": (
            {
                "name": contact.name,
                "title": contact.title,
                "mobile": contact.mobile,
                "phone": contact.phone,
                "email": contact.email,
            }
            if contact is not None
            else None
        ),
    }


def approval_facts(quote: Quote, version: QuoteVersion, *, on: date) -> dict[str, Any]:
    """The facts the approval rules read (``core.approvals.FACT_KEYS``).

    ``amount`` is the total in the company currency (the exchange rate valid ``on``;
    ``RateMissing`` when there is none); ``margin_percent`` = (net − Σ cost × quantity) /
    net × 100, rounded half-up to two places, when every line has a product with a known
    cost in the quote's currency, else ``None``.
    """
    lines = list(version.lines.select_related("product__category"))
    amount, _rate = convert(version.total, quote.currency, on)
    discount = max((line.discount_percent for line in lines), default=Decimal("0.00"))
    margin: Decimal | None = None
    costs = [
        line.product.cost * line.quantity
        for line in lines
        if line.product is not None
        and line.product.cost is not None
        and line.product.currency.upper() == quote.currency.upper()
    ]
    if lines and len(costs) == len(lines) and version.net > 0:
        margin = ((version.net - sum(costs, Decimal(0))) / version.net * 100).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
    categories = sorted(
        {line.product.category.code for line in lines if line.product is not None and line.product.category is not None}
    )
    owner = quote.owner
    return {
        "amount": amount,
        "currency": company_currency(),
        "discount_percent": discount,
        "margin_percent": margin,
        "region": quote.account.region.code if quote.account.region is not None else "",
        "product_lines": categories,
        "customer_grade": quote.account.grade,
        "non_standard_terms": bool(version.terms.strip()),
        "owner_id": owner.pk,
        "team_id": owner.team_id,
    }


def quote_issue(*, actor: User, quote: Quote) -> Quote:
    """Issue the draft version: freeze the customer data and submit it for approval
    (``core.approvals.submit_for_approval``). When no rule applies (or no engine is
    installed) the version is ``approved`` at once; otherwise it is ``pending_approval``
    (locked) until the engine calls back.

    Raises ``Conflict`` (not a draft, ``quote_not_editable``; the validity already ended,
    ``quote_expired``), ``ValidationFailed`` (no lines; no exchange rate for the quote's
    currency, field ``currency``). Audits ``quotes.quote.submitted`` with the facts.
    """
    _require_quote_write(actor, quote)
    today = today_local()
    with transaction.atomic():
        quote, version = _lock(quote)
        if version.status != QuoteStatus.DRAFT:
            raise _not_editable(version)
        if not version.lines.exists():
            raise ValidationFailed(
                _("Add at least one line before issuing."), field_errors={"lines": [_("Add a line.")]}
            )
        if version.valid_until is not None and version.valid_until < today:
            raise Conflict(_("The validity date has passed: change it before issuing."), code="quote_expired")
        try:
            facts = approval_facts(quote, version, on=today)
        except RateMissing:
            raise ValidationFailed(
                _("No exchange rate for %(currency)s: an administrator must enter one first.")
                % {"currency": quote.currency},
                field_errors={"currency": [_("No exchange rate.")]},
            ) from None
        version.customer = customer_snapshot(quote)
        version.issued_at = timezone.now()
        version.status = QuoteStatus.PENDING_APPROVAL
        version.save(update_fields=["customer", "issued_at", "status", "updated_at"])
        summary = f"{quote.number} v{version.version} · {quote.title} · {version.total:,} {quote.currency}"
        submission = submit_for_approval(actor=actor, kind=KIND, target=quote, facts=facts, summary=summary)
        if submission.status == "approved":
            version.status = QuoteStatus.APPROVED
            version.save(update_fields=["status", "updated_at"])
        _sync(quote, version)
        record_event(
            actor=actor,
            verb="quotes.quote.submitted",
            target=quote,
            data={
                "version": version.version,
                "status": version.status,
                "request_id": submission.request_id,
                "total": version.total,
                "facts": facts,
            },
            related=[quote.opportunity],
        )
    return quote


def _pending(quote: Quote) -> tuple[Quote, QuoteVersion] | None:
    quote, version = _lock(quote)
    if version.status != QuoteStatus.PENDING_APPROVAL:
        return None
    return quote, version


def on_approved(target: Quote, actor: User) -> None:
    """Engine callback (inside the decision's transaction): pending → approved.
    Idempotent: a version no longer pending is left alone. Audits ``quotes.quote.approved``."""
    found = _pending(target)
    if found is None:
        return
    quote, version = found
    version.status = QuoteStatus.APPROVED
    version.save(update_fields=["status", "updated_at"])
    _sync(quote, version)
    record_event(actor=actor, verb="quotes.quote.approved", target=quote, data={"version": version.version})


def _back_to_draft(quote: Quote, version: QuoteVersion) -> None:
    # the reverse of quote_issue: unfreeze so the rep can edit and issue again
    version.status = QuoteStatus.DRAFT
    version.customer = {}
    version.issued_at = None
    version.save(update_fields=["status", "customer", "issued_at", "updated_at"])
    _sync(quote, version)


def on_rejected(target: Quote, actor: User, comment: str) -> None:
    """Engine callback: pending → draft (editable again). Audits ``quotes.quote.rejected``."""
    found = _pending(target)
    if found is None:
        return
    quote, version = found
    _back_to_draft(quote, version)
    record_event(
        actor=actor,
        verb="quotes.quote.rejected",
        target=quote,
        data={"version": version.version, "comment": str(comment or "")[:REASON_MAX]},
    )


def on_withdrawn(target: Quote, actor: User) -> None:
    """Engine callback: pending → draft. Audits ``quotes.quote.withdrawn``."""
    found = _pending(target)
    if found is None:
        return
    quote, version = found
    _back_to_draft(quote, version)
    record_event(actor=actor, verb="quotes.quote.withdrawn", target=quote, data={"version": version.version})


# --- revise ------------------------------------------------------------------------------


REVISABLE = (QuoteStatus.APPROVED, QuoteStatus.SENT, QuoteStatus.DECLINED, QuoteStatus.EXPIRED)


def quote_revise(*, actor: User, quote: Quote) -> Quote:
    """Make version n+1 (a draft with the current version's lines, prices frozen as they
    were) from an issued version; an approved or sent version becomes ``superseded``
    (declined and expired versions keep their status). Earlier versions stay readable.

    Raises ``Conflict`` (``quote_not_revisable``) for a draft (edit it instead), a version
    under approval or an accepted quote. Audits ``quotes.quote.revised``.
    """
    _require_quote_write(actor, quote)
    with transaction.atomic():
        quote, version = _lock(quote)
        if version.status not in REVISABLE:
            raise Conflict(
                _("A %(status)s version cannot be revised.") % {"status": version.get_status_display()},
                code="quote_not_revisable",
            )
        previous_status = version.status
        if version.status in (QuoteStatus.APPROVED, QuoteStatus.SENT):
            version.status = QuoteStatus.SUPERSEDED
            version.save(update_fields=["status", "updated_at"])
        today = today_local()
        new = QuoteVersion.objects.create(
            quote=quote,
            version=version.version + 1,
            valid_until=max(version.valid_until or today, today + timedelta(days=DEFAULT_VALIDITY_DAYS)),
            prices_include_tax=version.prices_include_tax,
            terms=version.terms,
            subtotal=version.subtotal,
            discount=version.discount,
            net=version.net,
            tax=version.tax,
            total=version.total,
            created_by=actor,
        )
        copies = list(version.lines.all())
        for line in copies:
            line.pk = None
            line.id = None
            line.version = new
        QuoteLine.objects.bulk_create(copies)
        quote.current_version = new
        _sync(quote, new)
        record_event(
            actor=actor,
            verb="quotes.quote.revised",
            target=quote,
            data={"version": new.version, "previous_version": version.version, "previous_status": previous_status},
            related=[quote.opportunity],
        )
    return quote


# --- send ----------------------------------------------------------------------------------


def _recipients(raw: object) -> list[str]:
    if isinstance(raw, str):
        raw = [part for part in re.split(r"[,;\s]+", raw) if part]
    if not isinstance(raw, Sequence) or not raw:
        raise ValidationFailed(_("Invalid input."), field_errors={"to": [_("Enter at least one email address.")]})
    if len(raw) > MAX_RECIPIENTS:
        raise ValidationFailed(
            _("Invalid input."), field_errors={"to": [_("At most %(max)d addresses.") % {"max": MAX_RECIPIENTS}]}
        )
    result: list[str] = []
    for item in raw:
        address = clean_text(item, "to", max_length=254, required=True)
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationFailed(
                _("Invalid input."),
                field_errors={"to": [_("“%(address)s” is not an email address.") % {"address": address}]},
            ) from None
        if address not in result:
            result.append(address)
    return result


def quote_send(*, actor: User, quote: Quote, to: object, language: str | None = None, message: str = "") -> Quote:
    """Email the current (approved or already sent) version's PDF to ``to`` (1–10
    addresses) in ``language`` (default: the quote's), with the public accept/decline link.
    The version becomes ``sent``; the mail is sent after commit by the task
    ``quotes.tasks.send_quote_email`` through Django's email backend.

    Raises ``Conflict`` (``quote_not_sendable``) unless the version is approved or sent,
    ``ValidationFailed`` for bad addresses, language or message. Audits ``quotes.quote.sent``.
    """
    from salesflow.quotes.tasks import send_quote_email

    _require_quote_write(actor, quote)
    addresses = _recipients(to)
    language = _language(language or quote.language)
    text = clean_text(message, "message", max_length=MESSAGE_MAX, multiline=True)
    with transaction.atomic():
        quote, version = _lock(quote)
        if version.status not in OPEN_FOR_DECISION:
            raise Conflict(
                _("Only an approved quote can be sent (this version is %(status)s).")
                % {"status": version.get_status_display()},
                code="quote_not_sendable",
            )
        if version.valid_until is not None and version.valid_until < today_local():
            raise Conflict(_("The quote's validity has ended: revise it first."), code="quote_expired")
        version.status = QuoteStatus.SENT
        version.sent_at = timezone.now()
        version.save(update_fields=["status", "sent_at", "updated_at"])
        _sync(quote, version)
        record_event(
            actor=actor,
            verb="quotes.quote.sent",
            target=quote,
            data={"version": version.version, "to": addresses, "language": language},
            related=[quote.opportunity],
        )
        enqueue_on_commit(send_quote_email, version.pk, addresses, language, text, actor.pk)
    return quote


# --- the customer's decision -------------------------------------------------------------


def quote_decide(
    *,
    version_id: int,
    decision: str,
    name: object,
    ip: str | None,
    user_agent: str = "",
    reason: object = "",
) -> QuoteVersion:
    """Record the customer's ``decision`` (``accept`` or ``decline``) on the version the
    public link names. No user: the signed link is the authority (checked by the caller).

    Accepting sets ``Quote.accepted_version`` and updates the opportunity's amount (and
    currency) to the version's total through ``sales.services.opportunity_update``, acting
    as the system actor. Raises ``Conflict`` when the version was already decided
    (``already_decided``), superseded (``quote_superseded``), is not open for decision or
    its validity ended (``quote_expired``); ``ValidationFailed`` for a blank or too long
    name. Audits ``quotes.quote.accepted`` / ``declined`` (actor: nobody).
    """
    from salesflow.sales.services import opportunity_update
    from salesflow.users.services import system_actor

    if decision not in ("accept", "decline"):
        raise ValidationFailed(_("Invalid input."), field_errors={"decision": [_("Accept or decline.")]})
    who = clean_text(name, "name", max_length=NAME_MAX, required=True)
    why = clean_text(reason, "reason", max_length=REASON_MAX, multiline=True)
    agent = _CONTROL_ONE_LINE.sub("", str(user_agent or ""))[:300]
    with transaction.atomic():
        row = QuoteVersion.objects.filter(pk=version_id).values_list("quote_id", flat=True).first()
        if row is None:
            raise Http404("quote not found")
        quote = Quote.objects.select_for_update(of=("self",)).select_related("opportunity").get(pk=row)
        version = QuoteVersion.objects.get(pk=version_id)
        if version.status in (QuoteStatus.ACCEPTED, QuoteStatus.DECLINED):
            raise Conflict(_("This quote has already been answered."), code="already_decided")
        if version.status == QuoteStatus.SUPERSEDED or quote.current_version_id != version.pk:
            raise Conflict(_("This version was replaced by a newer one."), code="quote_superseded")
        if version.status == QuoteStatus.EXPIRED or (
            version.valid_until is not None and version.valid_until < today_local()
        ):
            raise Conflict(_("This quote is no longer valid."), code="quote_expired")
        if version.status not in OPEN_FOR_DECISION:
            raise Conflict(_("This quote is not open for a decision."), code="quote_not_open")
        version.status = QuoteStatus.ACCEPTED if decision == "accept" else QuoteStatus.DECLINED
        version.decided_at = timezone.now()
        version.decided_ip = ip
        version.decided_by_name = who
        version.decided_user_agent = agent
        version.save(
            update_fields=["status", "decided_at", "decided_ip", "decided_by_name", "decided_user_agent", "updated_at"]
        )
        if decision == "accept":
            quote.accepted_version = version
        _sync(quote, version)
        if decision == "accept":
            record_event(
                actor=None,
                verb="quotes.quote.accepted",
                target=quote,
                data={"version": version.version, "name": who, "ip": ip, "total": version.total},
                related=[quote.opportunity, quote.account],
            )
            with amount_from_document():  # the accepted quote sets the amount, also of a deal with lines
                opportunity_update(
                    actor=system_actor(), opportunity=quote.opportunity, amount=version.total, currency=quote.currency
                )
        else:
            record_event(
                actor=None,
                verb="quotes.quote.declined",
                target=quote,
                data={"version": version.version, "name": who, "ip": ip, "reason": why},
                related=[quote.opportunity],
            )
    return version


# --- expiry ------------------------------------------------------------------------------------


def quotes_expire_due(*, actor: User, today: date | None = None, batch_size: int = 500) -> int:
    """Periodic job: every current version approved or sent whose ``valid_until`` is
    before ``today`` becomes ``expired`` (each in its own transaction, audited
    ``quotes.quote.expired``). Idempotent; returns how many expired."""
    today = today or today_local()
    ids = list(
        Quote.objects.filter(status__in=OPEN_FOR_DECISION, current_version__valid_until__lt=today).values_list(
            "pk", flat=True
        )[:batch_size]
    )
    count = 0
    for pk in ids:
        with transaction.atomic():
            quote, version = _lock(Quote(pk=pk))
            if version.status not in OPEN_FOR_DECISION or version.valid_until is None or version.valid_until >= today:
                continue
            version.status = QuoteStatus.EXPIRED
            version.save(update_fields=["status", "updated_at"])
            _sync(quote, version)
            record_event(
                actor=actor,
                verb="quotes.quote.expired",
                target=quote,
                data={"version": version.version, "valid_until": version.valid_until},
            )
            count += 1
    return count


# --- company profile ---------------------------------------------------------------------------

PROFILE_FIELDS: dict[str, int] = {
    "name_zh": 200,
    "name_en": 200,
    "address_zh": 300,
    "address_en": 300,
    "phone": 40,
    "tax_id": 30,
    "bank_name": 200,
    "bank_account": 60,
}


def company_profile_save(*, actor: User, **values: Any) -> CompanyProfile:
    """Administrators change the company header printed on quotes (fields left out keep
    their values). Raises ``Forbidden`` for anyone else, ``ValidationFailed`` for unknown
    fields and bad text. Audits ``quotes.company_profile.saved`` when something changed."""
    if not (actor.is_authenticated and actor.is_active and actor.is_admin):
        raise Forbidden(_("Only administrators may change the company profile."))
    unknown = sorted(set(values) - set(PROFILE_FIELDS))
    if unknown:
        raise ValidationFailed(
            _("Invalid input."), field_errors={key: [_("This field cannot be changed here.")] for key in unknown}
        )
    cleaned = {key: clean_text(value, key, max_length=PROFILE_FIELDS[key]) for key, value in values.items()}
    with transaction.atomic():
        profile, _created = CompanyProfile.objects.select_for_update().get_or_create(pk=1)
        before = {key: getattr(profile, key) for key in cleaned}
        diff = changed_fields(before, cleaned)
        if diff:
            for key, value in cleaned.items():
                setattr(profile, key, value)
            profile.save()
            record_event(actor=actor, verb="quotes.company_profile.saved", target=profile, data={"changes": diff})
    return profile
