"""Writes of the catalogue: product lines, products, customer groups, price lists, tiers,
discount rules, and the products on a deal.

Guarantees:

- Every service checks its actor itself: the catalogue and the price settings are
  written by administrators (``permissions.require_manage``, else ``Forbidden``); deal lines
  by whoever may write the deal (``get_opportunity_for_user(..., write=True)``: unseen →
  ``Http404``, read-only → ``Forbidden``); a product the actor may not read is a 404.
- Input is parsed with the money, quantity and percent parsers; text refuses NUL and
  control characters and over-long values, naming the field; nothing is written on a
  refusal (``ValidationFailed`` 400, ``Conflict`` 409 for taken codes — also when two saves
  race on the unique key).
- Every write is audited (``catalogue.*``, declared in ``events.py``) in its transaction.
- While a deal has lines, its amount is the lines' total (tax included) in the deal's
  currency, written through ``sales.services.opportunity_update`` (field history, audit,
  search index); the deal row is locked while its lines change, so concurrent edits
  serialise. Removing the last line leaves the amount as it was (hand-entered again).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.catalogue.choices import Channel
from salesflow.catalogue.models import (
    DESCRIPTION_LENGTH,
    NAME_LENGTH,
    CustomerGroup,
    CustomerGroupMember,
    DiscountRule,
    OpportunityLine,
    PriceList,
    PriceListItem,
    Product,
    ProductCategory,
    ProductKind,
    VolumeTier,
)
from salesflow.catalogue.permissions import products_visible_to, require_manage
from salesflow.catalogue.selectors import NoPrice, resolve_price
from salesflow.core.audit import changed_fields, record_event
from salesflow.core.doctotals import LineInput, TotalTooLarge, document_totals, line_totals
from salesflow.core.errors import Conflict, ValidationFailed
from salesflow.core.money import AmountError, currency_choices, parse_amount
from salesflow.core.quantities import parse_percent, parse_quantity
from salesflow.core.schemas import text_error
from salesflow.parties.choices import Grade
from salesflow.parties.permissions import accounts_visible_to
from salesflow.sales.models import Opportunity
from salesflow.sales.permissions import get_opportunity_for_user
from salesflow.sales.services import opportunity_update
from salesflow.users.models import User

CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
SLUG_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
CODE_LENGTH = 40
UNIT_LENGTH = 20
MAX_LINES = 200
MAX_MEMBERS = 10_000
MAX_PRIORITY = 1_000_000

Errors = dict[str, list[str]]


# --- input helpers --------------------------------------------------------------------------


def _invalid(errors: Errors, message: str | None = None) -> ValidationFailed:
    return ValidationFailed(message or _("The input is not valid."), field_errors=errors)


def _text(
    values: Mapping[str, Any],
    field: str,
    errors: Errors,
    *,
    max_length: int,
    required: bool = False,
    multiline: bool = False,
) -> str:
    raw = values.get(field, "")
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        errors[field] = [_("Enter text.")]
        return ""
    text = raw.strip()
    reason = text_error(text, multiline=multiline)
    if reason:
        errors[field] = [reason]
    elif len(text) > max_length:
        errors[field] = [_("Use at most %(max)d characters.") % {"max": max_length}]
    elif required and not text:
        errors[field] = [_("This field is required.")]
    return text


def _code(values: Mapping[str, Any], field: str, errors: Errors, *, slug: bool = False) -> str:
    text = _text(values, field, errors, max_length=CODE_LENGTH, required=True)
    if field not in errors and not (SLUG_RE if slug else CODE_RE).fullmatch(text):
        errors[field] = [
            _("Use lower-case letters, digits, - and _.")
            if slug
            else _("Use letters, digits and . _ - / (starting with a letter or digit).")
        ]
    return text


def _bool(values: Mapping[str, Any], field: str, errors: Errors, default: bool) -> bool:
    raw = values.get(field, default)
    if not isinstance(raw, bool):
        errors[field] = [_("Enter true or false.")]
        return default
    return raw


def _int(values: Mapping[str, Any], field: str, errors: Errors, *, default: int = 0) -> int:
    raw = values.get(field, default)
    if isinstance(raw, bool) or not isinstance(raw, int) or not -MAX_PRIORITY <= raw <= MAX_PRIORITY:
        errors[field] = [
            _("Enter a whole number between %(min)d and %(max)d.") % {"min": -MAX_PRIORITY, "max": MAX_PRIORITY}
        ]
        return default
    return int(raw)


def _amount(value: object, field: str, errors: Errors, currency: str, *, required: bool = True) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = [_("This field is required.")]
        return None
    try:
        return parse_amount(value, currency)
    except AmountError as exc:
        errors[field] = [str(exc.message)]
        return None


def _percent(value: object, field: str, errors: Errors, *, required: bool = True) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = [_("This field is required.")]
        return None
    try:
        return parse_percent(value)
    except AmountError as exc:
        errors[field] = [str(exc.message)]
        return None


def _quantity(value: object, field: str, errors: Errors, *, required: bool = True) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = [_("This field is required.")]
        return None
    try:
        return parse_quantity(value)
    except AmountError as exc:
        errors[field] = [str(exc.message)]
        return None


def _currency(values: Mapping[str, Any], field: str, errors: Errors, current: str | None = None) -> str:
    raw = values.get(field, current or "")
    text = raw.strip().upper() if isinstance(raw, str) else ""
    allowed = {code for code, _label in currency_choices()} | ({current} if current else set())
    if text not in allowed:
        errors[field] = [_("Select a supported currency.")]
    return text


def _choice(values: Mapping[str, Any], field: str, errors: Errors, allowed: Iterable[str], default: str = "") -> str:
    raw = values.get(field, default)
    if raw is None:
        raw = ""
    if not isinstance(raw, str) or raw not in set(allowed):
        errors[field] = [_("Select a valid choice.")]
        return default
    return raw


def _ref(model: type[Any], values: Mapping[str, Any], field: str, errors: Errors) -> Any:
    raw = values.get(field)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**63:
        errors[field] = [_("Select a valid choice.")]
        return None
    obj = model.objects.filter(pk=raw).first()
    if obj is None:
        errors[field] = [_("Select a valid choice.")]
    return obj


def _dates(values: Mapping[str, Any], errors: Errors) -> tuple[date | None, date | None]:
    start, end = values.get("valid_from"), values.get("valid_to")
    for field, value in (("valid_from", start), ("valid_to", end)):
        if value is not None and not isinstance(value, date):
            errors[field] = [_("Enter a valid date.")]
    if isinstance(start, date) and isinstance(end, date) and end < start:
        errors["valid_to"] = [_("The end of the validity cannot be before its start.")]
    return (start if isinstance(start, date) else None, end if isinstance(end, date) else None)


def _unknown(values: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise _invalid({key: [_("Unknown field.")] for key in unknown})


def _taken(field: str) -> Conflict:
    return Conflict(
        _("This code is already taken."), code="duplicate", field_errors={field: [_("This code is already taken.")]}
    )


def _save_unique(obj: Any, field: str, **kwargs: Any) -> None:
    """Save ``obj``; a race on its unique code becomes a 409 naming ``field``."""
    try:
        with transaction.atomic():
            obj.save(**kwargs)
    except IntegrityError as exc:
        raise _taken(field) from exc


# --- product lines ---------------------------------------------------------------------------


CATEGORY_FIELDS = {"code", "name_zh", "name_en", "active"}


@transaction.atomic
def category_save(*, actor: User, category: ProductCategory | None = None, **values: Any) -> ProductCategory:
    """Create (``category=None``) or change a product line (产品线). Administrators only.
    Codes are lower-case slugs, unique (409 ``duplicate`` on ``code``)."""
    require_manage(actor)
    _unknown(values, CATEGORY_FIELDS)
    errors: Errors = {}
    merged = {"active": True} if category is None else {f: getattr(category, f) for f in CATEGORY_FIELDS}
    merged.update(values)
    code = _code(merged, "code", errors, slug=True)
    name_zh = _text(merged, "name_zh", errors, max_length=100, required=True)
    name_en = _text(merged, "name_en", errors, max_length=100, required=True)
    active = _bool(merged, "active", errors, True)
    if errors:
        raise _invalid(errors)
    if ProductCategory.objects.filter(code=code).exclude(pk=category.pk if category is not None else 0).exists():
        raise _taken("code")
    created = category is None
    row = category or ProductCategory()
    row.code, row.name_zh, row.name_en, row.active = code, name_zh, name_en, active
    _save_unique(row, "code")
    record_event(actor=actor, verb="catalogue.category.saved", target=row, data={"code": code, "created": created})
    return row


# --- products --------------------------------------------------------------------------------

PRODUCT_FIELDS = {
    "code",
    "name_zh",
    "name_en",
    "kind",
    "unit",
    "category_id",
    "tax_rate",
    "list_price",
    "currency",
    "cost",
    "active",
    "description",
}


def _product_values(values: Mapping[str, Any], product: Product | None) -> dict[str, Any]:
    _unknown(values, PRODUCT_FIELDS)
    errors: Errors = {}
    if product is None:
        merged: dict[str, Any] = {"kind": ProductKind.PRODUCT, "tax_rate": "13", "currency": "CNY", "active": True}
    else:
        merged = {f: getattr(product, f) for f in PRODUCT_FIELDS}
    merged.update(values)
    clean: dict[str, Any] = {
        "code": _code(merged, "code", errors),
        "name_zh": _text(merged, "name_zh", errors, max_length=200, required=True),
        "name_en": _text(merged, "name_en", errors, max_length=200, required=True),
        "kind": _choice(merged, "kind", errors, ProductKind.values, ProductKind.PRODUCT),
        "unit": _text(merged, "unit", errors, max_length=UNIT_LENGTH, required=True),
        "active": _bool(merged, "active", errors, True),
        "description": _text(merged, "description", errors, max_length=DESCRIPTION_LENGTH, multiline=True),
        "currency": _currency(merged, "currency", errors, product.currency if product else None),
    }
    category = _ref(ProductCategory, merged, "category_id", errors)
    clean["category_id"] = category.pk if category is not None else None
    clean["tax_rate"] = _percent(merged.get("tax_rate"), "tax_rate", errors)
    currency = clean["currency"] or "CNY"
    clean["list_price"] = _amount(merged.get("list_price"), "list_price", errors, currency)
    clean["cost"] = _amount(merged.get("cost"), "cost", errors, currency, required=False)
    if errors:
        raise _invalid(errors, _("The product could not be saved."))
    if Product.objects.filter(code__iexact=clean["code"]).exclude(pk=product.pk if product is not None else 0).exists():
        raise _taken("code")
    return clean


@transaction.atomic
def product_create(*, actor: User, **values: Any) -> Product:
    """Create a product or service. Administrators only (``Forbidden``). Refuses with
    ``ValidationFailed`` (nothing written) a missing or malformed code, names or unit, an
    unknown kind, line or currency, a tax rate outside 0–100, a negative or malformed list
    price or cost, over-long or control-character text, unknown fields; with ``Conflict``
    (``duplicate`` on ``code``) a code already taken (case-insensitive), also under a race.
    Audits ``catalogue.product.created``."""
    require_manage(actor)
    clean = _product_values(values, None)
    product = Product(**clean)
    _save_unique(product, "code")
    record_event(actor=actor, verb="catalogue.product.created", target=product, data={"code": product.code})
    return product


@transaction.atomic
def product_update(*, actor: User, product: Product, **changes: Any) -> Product:
    """Change the given fields of a product (same rules as :func:`product_create`). Audits
    ``catalogue.product.updated`` with ``changes``; an update that changes nothing writes
    nothing. Deal lines, quotes and orders keep their frozen copies."""
    require_manage(actor)
    clean = _product_values(changes, product)
    before = {key: getattr(product, key) for key in clean}
    diff = changed_fields(before, clean)
    if not diff:
        return product
    for key, value in clean.items():
        setattr(product, key, value)
    _save_unique(product, "code")
    record_event(
        actor=actor, verb="catalogue.product.updated", target=product, data={"code": product.code, "changes": diff}
    )
    return product


@transaction.atomic
def product_set_active(*, actor: User, product: Product, active: bool) -> Product:
    """Deactivate (no longer sold: hidden from reps, refused on new deal lines) or
    reactivate a product. Administrators only; idempotent (no event when unchanged).
    Audits ``catalogue.product.deactivated`` / ``activated``."""
    require_manage(actor)
    if product.active == active:
        return product
    product.active = active
    product.save(update_fields=["active", "updated_at"])
    verb = "catalogue.product.activated" if active else "catalogue.product.deactivated"
    record_event(actor=actor, verb=verb, target=product, data={"code": product.code})
    return product


# --- customer groups -------------------------------------------------------------------------

GROUP_FIELDS = {"code", "name_zh", "name_en", "active", "description"}


@transaction.atomic
def customer_group_save(*, actor: User, group: CustomerGroup | None = None, **values: Any) -> CustomerGroup:
    """Create or change a customer group (客户组). Administrators only; unique slug code."""
    require_manage(actor)
    _unknown(values, GROUP_FIELDS)
    errors: Errors = {}
    merged: dict[str, Any] = {"active": True} if group is None else {f: getattr(group, f) for f in GROUP_FIELDS}
    merged.update(values)
    code = _code(merged, "code", errors, slug=True)
    name_zh = _text(merged, "name_zh", errors, max_length=NAME_LENGTH, required=True)
    name_en = _text(merged, "name_en", errors, max_length=NAME_LENGTH, required=True)
    active = _bool(merged, "active", errors, True)
    description = _text(merged, "description", errors, max_length=DESCRIPTION_LENGTH, multiline=True)
    if errors:
        raise _invalid(errors)
    if CustomerGroup.objects.filter(code=code).exclude(pk=group.pk if group is not None else 0).exists():
        raise _taken("code")
    created = group is None
    row = group or CustomerGroup()
    row.code, row.name_zh, row.name_en, row.active, row.description = code, name_zh, name_en, active, description
    _save_unique(row, "code")
    record_event(actor=actor, verb="catalogue.group.saved", target=row, data={"code": code, "created": created})
    return row


@transaction.atomic
def customer_group_set_members(
    *, actor: User, group: CustomerGroup, add: Iterable[object] = (), remove: Iterable[object] = ()
) -> tuple[list[int], list[int]]:
    """Add and remove accounts (by id) of a customer group. Administrators only. Every id
    must be an account the actor can see (else ``ValidationFailed`` naming ``add`` /
    ``remove``; nothing changes). Adding a member twice or removing a non-member is a no-op.
    Returns the ids actually added and removed; audits ``catalogue.group.members_changed``
    when something changed."""
    require_manage(actor)
    errors: Errors = {}
    wanted: dict[str, set[int]] = {}
    for field, raw in (("add", list(add)), ("remove", list(remove))):
        if len(raw) > MAX_MEMBERS:
            errors[field] = [_("At most %(max)d accounts at a time.") % {"max": MAX_MEMBERS}]
            continue
        ids = {v for v in raw if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**63}
        if len(ids) != len(set(raw)):
            errors[field] = [_("Select valid accounts.")]
            continue
        if ids and accounts_visible_to(actor).filter(pk__in=ids).count() != len(ids):
            errors[field] = [_("Select valid accounts.")]
            continue
        wanted[field] = ids
    if errors:
        raise _invalid(errors)
    existing = set(CustomerGroupMember.objects.filter(group=group).values_list("account_id", flat=True))
    to_add = sorted(wanted.get("add", set()) - existing)
    to_remove = sorted(wanted.get("remove", set()) & existing)
    CustomerGroupMember.objects.bulk_create(
        [CustomerGroupMember(group=group, account_id=pk) for pk in to_add], ignore_conflicts=True
    )
    CustomerGroupMember.objects.filter(group=group, account_id__in=to_remove).delete()
    if to_add or to_remove:
        record_event(
            actor=actor,
            verb="catalogue.group.members_changed",
            target=group,
            data={"code": group.code, "added": to_add, "removed": to_remove},
        )
    return to_add, to_remove


# --- price lists, items, tiers ----------------------------------------------------------------

PRICE_LIST_FIELDS = {
    "code",
    "name_zh",
    "name_en",
    "currency",
    "channel",
    "customer_group_id",
    "valid_from",
    "valid_to",
    "priority",
    "active",
}


@transaction.atomic
def price_list_save(*, actor: User, price_list: PriceList | None = None, **values: Any) -> PriceList:
    """Create or change a price list (价目表). Administrators only. Unique slug code (409),
    a supported currency, a channel (or empty for every channel), a customer group (or none),
    validity dates with the end not before the start. A list that has items keeps its
    currency (their prices are in it): a change is refused on ``currency``."""
    require_manage(actor)
    _unknown(values, PRICE_LIST_FIELDS)
    errors: Errors = {}
    if price_list is None:
        merged: dict[str, Any] = {"currency": "CNY", "channel": "", "priority": 0, "active": True}
    else:
        merged = {f: getattr(price_list, f) for f in PRICE_LIST_FIELDS}
    merged.update(values)
    clean: dict[str, Any] = {
        "code": _code(merged, "code", errors, slug=True),
        "name_zh": _text(merged, "name_zh", errors, max_length=NAME_LENGTH, required=True),
        "name_en": _text(merged, "name_en", errors, max_length=NAME_LENGTH, required=True),
        "currency": _currency(merged, "currency", errors, price_list.currency if price_list else None),
        "channel": _choice(merged, "channel", errors, ["", *Channel.values]),
        "priority": _int(merged, "priority", errors),
        "active": _bool(merged, "active", errors, True),
    }
    group = _ref(CustomerGroup, merged, "customer_group_id", errors)
    clean["customer_group_id"] = group.pk if group is not None else None
    clean["valid_from"], clean["valid_to"] = _dates(merged, errors)
    if (
        price_list is not None
        and "currency" not in errors
        and clean["currency"] != price_list.currency
        and price_list.items.exists()
    ):
        errors["currency"] = [_("A price list with prices keeps its currency.")]
    if errors:
        raise _invalid(errors, _("The price list could not be saved."))
    if PriceList.objects.filter(code=clean["code"]).exclude(pk=price_list.pk if price_list is not None else 0).exists():
        raise _taken("code")
    created = price_list is None
    row = price_list or PriceList()
    for key, value in clean.items():
        setattr(row, key, value)
    _save_unique(row, "code")
    record_event(
        actor=actor, verb="catalogue.price_list.saved", target=row, data={"code": row.code, "created": created}
    )
    return row


@transaction.atomic
def price_list_delete(*, actor: User, price_list: PriceList) -> None:
    """Delete a price list with its items and tiers. Deal lines, quotes and orders priced from
    it keep their frozen prices. Administrators only."""
    require_manage(actor)
    record_event(actor=actor, verb="catalogue.price_list.deleted", target=price_list, data={"code": price_list.code})
    price_list.delete()


@transaction.atomic
def price_item_save(*, actor: User, price_list: PriceList, product_id: object, unit_price: object) -> PriceListItem:
    """Set a product's unit price (excluding tax, in the list's currency) on a price list,
    creating or replacing the item. Administrators only; the product must exist."""
    require_manage(actor)
    errors: Errors = {}
    product = _ref(Product, {"product_id": product_id}, "product_id", errors)
    if product_id is None:
        errors["product_id"] = [_("This field is required.")]
    price = _amount(unit_price, "unit_price", errors, price_list.currency)
    if errors or product is None or price is None:
        raise _invalid(errors)
    item, _created = PriceListItem.objects.update_or_create(
        price_list=price_list, product=product, defaults={"unit_price": price}
    )
    record_event(
        actor=actor,
        verb="catalogue.price_item.saved",
        target=price_list,
        data={"price_list": price_list.code, "product": product.code, "unit_price": price},
    )
    return item


@transaction.atomic
def price_item_delete(*, actor: User, item: PriceListItem) -> None:
    """Take a product off a price list (its tiers go too). Administrators only."""
    require_manage(actor)
    plist, product = item.price_list, item.product
    item.delete()
    record_event(
        actor=actor,
        verb="catalogue.price_item.deleted",
        target=plist,
        data={"price_list": plist.code, "product": product.code},
    )


@transaction.atomic
def tier_save(
    *,
    actor: User,
    item: PriceListItem,
    min_quantity: object,
    unit_price: object = None,
    discount_percent: object = None,
) -> VolumeTier:
    """Add or replace the volume tier of an item at ``min_quantity`` (> 0): exactly one of a
    ``unit_price`` (in the list's currency) or a ``discount_percent``. Administrators only."""
    require_manage(actor)
    errors: Errors = {}
    quantity = _quantity(min_quantity, "min_quantity", errors)
    price = _amount(unit_price, "unit_price", errors, item.price_list.currency, required=False)
    percent = _percent(discount_percent, "discount_percent", errors, required=False)
    if not errors and (price is None) == (percent is None):
        errors["unit_price"] = [_("Give either a unit price or a discount, not both.")]
    if errors or quantity is None:
        raise _invalid(errors)
    tier, _created = VolumeTier.objects.update_or_create(
        item=item, min_quantity=quantity, defaults={"unit_price": price, "discount_percent": percent}
    )
    record_event(
        actor=actor,
        verb="catalogue.tier.saved",
        target=item.price_list,
        data={"price_list": item.price_list.code, "product": item.product.code, "min_quantity": quantity},
    )
    return tier


@transaction.atomic
def tier_delete(*, actor: User, tier: VolumeTier) -> None:
    """Delete a volume tier. Administrators only."""
    require_manage(actor)
    item = tier.item
    quantity = tier.min_quantity
    tier.delete()
    record_event(
        actor=actor,
        verb="catalogue.tier.deleted",
        target=item.price_list,
        data={"price_list": item.price_list.code, "product": item.product.code, "min_quantity": quantity},
    )


# --- discount rules ----------------------------------------------------------------------------

RULE_FIELDS = {
    "name",
    "percent",
    "priority",
    "customer_group_id",
    "grade",
    "category_id",
    "product_id",
    "channel",
    "min_quantity",
    "valid_from",
    "valid_to",
    "active",
}


@transaction.atomic
def discount_rule_save(*, actor: User, rule: DiscountRule | None = None, **values: Any) -> DiscountRule:
    """Create or change a discount rule (data: a percentage, a priority, a validity and
    optional conditions — customer group, grade, product line, product, channel, minimum
    quantity). Administrators only. How rules apply: ``selectors.resolve_prices``."""
    require_manage(actor)
    _unknown(values, RULE_FIELDS)
    errors: Errors = {}
    if rule is None:
        merged: dict[str, Any] = {"priority": 0, "active": True, "grade": "", "channel": ""}
    else:
        merged = {f: getattr(rule, f) for f in RULE_FIELDS}
    merged.update(values)
    clean: dict[str, Any] = {
        "name": _text(merged, "name", errors, max_length=NAME_LENGTH, required=True),
        "percent": _percent(merged.get("percent"), "percent", errors),
        "priority": _int(merged, "priority", errors),
        "grade": _choice(merged, "grade", errors, ["", *Grade.values]),
        "channel": _choice(merged, "channel", errors, ["", *Channel.values]),
        "min_quantity": _quantity(merged.get("min_quantity"), "min_quantity", errors, required=False),
        "active": _bool(merged, "active", errors, True),
    }
    for field, model in (
        ("customer_group_id", CustomerGroup),
        ("category_id", ProductCategory),
        ("product_id", Product),
    ):
        ref = _ref(model, merged, field, errors)
        clean[field] = ref.pk if ref is not None else None
    clean["valid_from"], clean["valid_to"] = _dates(merged, errors)
    if errors:
        raise _invalid(errors, _("The discount rule could not be saved."))
    created = rule is None
    row = rule or DiscountRule()
    for key, value in clean.items():
        setattr(row, key, value)
    row.save()
    record_event(
        actor=actor, verb="catalogue.discount_rule.saved", target=row, data={"name": row.name, "created": created}
    )
    return row


@transaction.atomic
def discount_rule_delete(*, actor: User, rule: DiscountRule) -> None:
    """Delete a discount rule. Administrators only."""
    require_manage(actor)
    record_event(actor=actor, verb="catalogue.discount_rule.deleted", target=rule, data={"name": rule.name})
    rule.delete()


# --- products on deals ------------------------------------------------------------------------


def _lock_deal(actor: User, opportunity: Opportunity) -> Opportunity:
    """Check that ``actor`` may write the deal (404 / 403) and lock its row."""
    get_opportunity_for_user(actor, opportunity.pk, write=True)
    return Opportunity.objects.select_for_update().select_related("account").get(pk=opportunity.pk)


def _line_figures(line: OpportunityLine, currency: str, errors: Errors) -> None:
    try:
        figures = line_totals(
            LineInput(
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
            ),
            currency,
        )
    except TotalTooLarge:
        errors["quantity"] = [_("The line's amount is above the maximum.")]
        return
    line.gross, line.discount, line.net, line.tax, line.total = (
        figures.gross,
        figures.discount,
        figures.net,
        figures.tax,
        figures.total,
    )


def _sync_amount(actor: User, opportunity: Opportunity, lines: list[OpportunityLine]) -> None:
    """The deal's amount becomes its lines' total, through the sales service (history,
    audit, index). Nothing happens without lines or when it already matches."""
    if not lines:
        return
    try:
        totals = document_totals(
            [
                LineInput(
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    discount_percent=line.discount_percent,
                    tax_rate=line.tax_rate,
                )
                for line in lines
            ],
            opportunity.currency,
        )
    except TotalTooLarge:
        raise _invalid({"quantity": [_("The deal's total would be above the maximum.")]}) from None
    if totals.total != opportunity.amount:
        with amount_from_document():
            opportunity_update(actor=actor, opportunity=opportunity, amount=totals.total)


# A deal with product lines refuses a hand-entered amount (``sales.services`` asks the guard
# registered in ``CatalogueConfig.ready``). Writers that set the amount from a document — the
# lines' total here, an accepted quote — do it inside ``amount_from_document()``.
_document_amount: ContextVar[bool] = ContextVar("catalogue_document_amount", default=False)


@contextmanager
def amount_from_document() -> Iterator[None]:
    """Inside this block ``opportunity_update`` may set the amount of a deal with lines (the
    amount comes from the lines or from an accepted quote, not from a person's typing)."""
    token = _document_amount.set(True)
    try:
        yield
    finally:
        _document_amount.reset(token)


def refuse_hand_entered_amount(opportunity: Opportunity, amount: Decimal) -> str | None:
    """The amount guard: a message when ``opportunity`` has product lines (one ``EXISTS``
    query) and the new amount was typed by hand, else ``None``."""
    if _document_amount.get() or opportunity.pk is None:
        return None
    if OpportunityLine.objects.filter(opportunity_id=opportunity.pk).exists():
        return _(
            "This deal has products: its amount is their total including tax. Change the products "
            "(or remove them) instead of typing an amount."
        )
    return None


def _lines_of(opportunity: Opportunity) -> list[OpportunityLine]:
    return list(OpportunityLine.objects.filter(opportunity_id=opportunity.pk).order_by("position", "id"))


@transaction.atomic
def opportunity_line_add(
    *,
    actor: User,
    opportunity: Opportunity,
    product_id: object,
    quantity: object,
    unit_price: object = None,
    discount_percent: object = None,
    channel: str = Channel.DIRECT,
    on: date | None = None,
) -> OpportunityLine:
    """Add a product to a deal. The actor must be able to write the deal (unseen → 404,
    read-only → ``Forbidden``) and read the product (else 404); an inactive product is
    refused (400 on ``product_id``). The price comes from ``resolve_price`` for the deal's
    account and currency on ``on`` (today); ``unit_price`` / ``discount_percent`` override
    it (source ``manual``). Without any price in the deal's currency, a unit price is
    required (400 on ``unit_price``). Code, names, unit and tax rate are frozen on the line.
    The deal's amount becomes the lines' total. At most ``MAX_LINES`` lines per deal.
    Audits ``catalogue.deal_line.added`` on the deal."""
    deal = _lock_deal(actor, opportunity)
    errors: Errors = {}
    product = None
    if isinstance(product_id, bool) or not isinstance(product_id, int) or not 0 < product_id < 2**63:
        errors["product_id"] = [_("Select a product.")]
    else:
        product = products_visible_to(actor).filter(pk=product_id).first()
        if product is None:
            raise Http404("product not found")
        if not product.active:
            errors["product_id"] = [_("This product is no longer sold.")]
    qty = _quantity(quantity, "quantity", errors)
    price = _amount(unit_price, "unit_price", errors, deal.currency, required=False)
    percent = _percent(discount_percent, "discount_percent", errors, required=False)
    channel_value = _choice({"channel": channel}, "channel", errors, Channel.values, Channel.DIRECT)
    lines = _lines_of(deal)
    if len(lines) >= MAX_LINES:
        errors["product_id"] = [_("A deal has at most %(max)d lines.") % {"max": MAX_LINES}]
    if errors or product is None or qty is None:
        raise _invalid(errors, _("The line could not be added."))
    try:
        resolved = resolve_price(
            product=product,
            account=deal.account,
            currency=deal.currency,
            quantity=qty,
            channel=channel_value,
            on=on or timezone.localdate(),
        )
    except NoPrice as exc:
        if price is None:
            raise _invalid({"unit_price": [exc.message]}, _("The line could not be added.")) from None
        resolved = None
    line = OpportunityLine(
        opportunity=deal,
        position=(max((x.position for x in lines), default=0) + 1),
        product=product,
        code=product.code,
        name_zh=product.name_zh,
        name_en=product.name_en,
        unit=product.unit,
        quantity=qty,
        unit_price=price if price is not None else resolved.unit_price if resolved else Decimal("0"),
        discount_percent=percent if percent is not None else resolved.discount_percent if resolved else Decimal("0"),
        tax_rate=product.tax_rate,
        price_list_id=resolved.price_list_id if resolved else None,
        price_source=("manual" if (price is not None or percent is not None or resolved is None) else resolved.source),
    )
    _line_figures(line, deal.currency, errors)
    if errors:
        raise _invalid(errors, _("The line could not be added."))
    line.save()
    _sync_amount(actor, deal, [*lines, line])
    record_event(
        actor=actor,
        verb="catalogue.deal_line.added",
        target=deal,
        data={
            "line_id": line.pk,
            "code": line.code,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "total": line.total,
        },
    )
    opportunity.amount = deal.amount
    return line


LINE_FIELDS = {"quantity", "unit_price", "discount_percent"}


@transaction.atomic
def opportunity_line_update(
    *, actor: User, opportunity: Opportunity, line: OpportunityLine, **changes: Any
) -> OpportunityLine:
    """Change a deal line's ``quantity``, ``unit_price`` and/or ``discount_percent`` (the
    frozen product copy and the tax rate stay). Same permission and input rules as
    :func:`opportunity_line_add`; the line must belong to the deal (else 404). The deal's
    amount follows. Audits ``catalogue.deal_line.updated`` with ``changes``; a change that
    changes nothing writes nothing."""
    deal = _lock_deal(actor, opportunity)
    _unknown(changes, LINE_FIELDS)
    row = OpportunityLine.objects.filter(pk=line.pk, opportunity_id=deal.pk).first()
    if row is None:
        raise Http404("line not found")
    errors: Errors = {}
    new: dict[str, Any] = {}
    if "quantity" in changes:
        new["quantity"] = _quantity(changes["quantity"], "quantity", errors)
    if "unit_price" in changes:
        new["unit_price"] = _amount(changes["unit_price"], "unit_price", errors, deal.currency)
    if "discount_percent" in changes:
        new["discount_percent"] = _percent(changes["discount_percent"], "discount_percent", errors)
    if errors:
        raise _invalid(errors, _("The line could not be saved."))
    diff = changed_fields({k: getattr(row, k) for k in new}, new)
    if not diff:
        return row
    for key, value in new.items():
        setattr(row, key, value)
    if "unit_price" in diff or "discount_percent" in diff:
        row.price_source = "manual"
    _line_figures(row, deal.currency, errors)
    if errors:
        raise _invalid(errors, _("The line could not be saved."))
    row.save()
    lines = [row if x.pk == row.pk else x for x in _lines_of(deal)]
    _sync_amount(actor, deal, lines)
    record_event(
        actor=actor,
        verb="catalogue.deal_line.updated",
        target=deal,
        data={"line_id": row.pk, "code": row.code, "changes": diff},
    )
    opportunity.amount = deal.amount
    return row


@transaction.atomic
def opportunity_line_remove(*, actor: User, opportunity: Opportunity, line: OpportunityLine) -> None:
    """Remove a line from a deal (same permission rules). The amount follows the remaining
    lines; removing the last one leaves the amount for the owner to enter by hand.
    Audits ``catalogue.deal_line.removed``."""
    deal = _lock_deal(actor, opportunity)
    row = OpportunityLine.objects.filter(pk=line.pk, opportunity_id=deal.pk).first()
    if row is None:
        raise Http404("line not found")
    line_id, code = row.pk, row.code
    row.delete()
    _sync_amount(actor, deal, _lines_of(deal))
    record_event(actor=actor, verb="catalogue.deal_line.removed", target=deal, data={"line_id": line_id, "code": code})
    opportunity.amount = deal.amount


@transaction.atomic
def opportunity_lines_sync(*, actor: User, opportunity: Opportunity) -> Decimal:
    """Set the deal's amount to its lines' total again (after someone entered an amount by
    hand while the deal had lines). Same permission rules; no-op without lines or when it
    already matches. Returns the deal's amount."""
    deal = _lock_deal(actor, opportunity)
    _sync_amount(actor, deal, _lines_of(deal))
    opportunity.amount = deal.amount
    return Decimal(deal.amount)
