"""Reads of the catalogue, first of all the price lookup (取价): which unit price, discount
and tax rate a product gets for an account, a channel, a currency, a quantity and a date.
:func:`resolve_price` / :func:`resolve_prices` are the contract the quotes, contracts,
orders and deal lines use.

Precedence (documented in ``docs/architecture.md`` too):

1. **Candidate price lists** are the active lists whose currency equals ``currency``,
   valid on ``on`` (``valid_from ≤ on ≤ valid_to``, each bound open when empty), whose
   channel is empty or equals ``channel``, whose customer group is empty or one of the
   account's (active) groups, and that have an item for the product.
2. **The most specific candidate wins**: a list for one of the account's customer groups
   beats a list for every customer; then a list for the channel beats a list for every
   channel; then the higher ``priority``; then the later ``valid_from`` (an open start
   counts as the earliest); then the lower id. The winner's item gives the unit price.
3. **Volume tiers** of that item: the tier with the largest ``min_quantity ≤ quantity``
   applies — either its ``unit_price`` replaces the item's, or its ``discount_percent`` is
   the line's tier discount. Below the first tier the item's price applies.
4. **No list** → the product's own ``list_price``, but only when the product's currency is
   ``currency``. Otherwise :class:`NoPrice` (a ``ValueError``; the quotes app answers 400).
5. **Discount rules** (whatever the price source): among the active rules valid on ``on``
   whose set conditions all match (customer group among the account's, customer grade,
   product line, product, channel, ``min_quantity ≤ quantity``), the one with the highest
   ``priority`` applies (ties: the larger percentage, then the lower id). Its percentage is
   added to the tier discount; the sum is capped at 100 %.
6. ``tax_rate`` is the product's tax rate.

Without an account only lists and rules without a customer group (and rules without a
grade) apply. The lookup never checks ``Product.active``: callers decide whether an
inactive product may still be priced (an old quote's revision) or not (a new deal line).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from salesflow.catalogue.choices import PriceSource
from salesflow.catalogue.models import (
    CustomerGroup,
    CustomerGroupMember,
    DiscountRule,
    OpportunityLine,
    PriceList,
    PriceListItem,
    Product,
    VolumeTier,
)
from salesflow.catalogue.permissions import products_visible_to, sees_cost
from salesflow.core.doctotals import DocumentTotals, LineInput, document_totals
from salesflow.parties.models import Account
from salesflow.parties.permissions import accounts_visible_to
from salesflow.sales.models import Opportunity
from salesflow.users.models import User

HUNDRED = Decimal("100.00")
ZERO_PERCENT = Decimal("0.00")


class NoPrice(ValueError):
    """No price list and no list price in the requested currency prices the product.

    ``product_id`` and ``currency`` say which; the message is translatable text naming the
    product and the currency (the quotes app returns it as a 400 on the line).
    """

    def __init__(self, product: Product, currency: str) -> None:
        self.product_id = product.pk
        self.currency = currency
        self.message = _("“%(product)s” has no price in %(currency)s.") % {
            "product": f"{product.code} {product.name}",
            "currency": currency,
        }
        super().__init__(self.message)


@dataclass(frozen=True)
class ResolvedPrice:
    """The outcome of a lookup. ``unit_price`` is exact, in ``currency`` units, excluding
    tax; ``discount_percent`` (tier + rule, ≤ 100) and ``tax_rate`` are percentages with two
    places. ``price_list_id`` / ``tier_id`` / ``rule_ids`` name the rows used; ``source`` is a
    :class:`~salesflow.catalogue.choices.PriceSource` value; ``explanation`` is a sentence in
    the language active at lookup time (e.g. "价目表「华东经销商 2026」第 3 档")."""

    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    price_list_id: int | None
    tier_id: int | None
    rule_ids: tuple[int, ...]
    source: str
    explanation: str


def _valid_on(on: date) -> Q:
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=on)) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on))


def _group_ids(account: Account | None) -> set[int]:
    if account is None or account.pk is None:
        return set()
    return set(
        CustomerGroupMember.objects.filter(account_id=account.pk, group__active=True).values_list("group_id", flat=True)
    )


def _specificity(item: PriceListItem) -> tuple[int, int, int, date, int]:
    plist = item.price_list
    return (
        1 if plist.customer_group_id is not None else 0,
        1 if plist.channel else 0,
        plist.priority,
        plist.valid_from or date.min,
        -plist.pk,
    )


def resolve_prices(
    *,
    products: Sequence[Product],
    account: Account | None,
    currency: str,
    quantities: Mapping[int, Decimal] | None = None,
    quantity: Decimal = Decimal("1"),
    channel: str = "direct",
    on: date,
) -> dict[int, ResolvedPrice | NoPrice]:
    """Look up many products at once in a constant number of queries (four: the account's
    groups, the candidate items with their lists, their tiers, the discount rules).

    ``quantities`` maps a product id to its quantity (default ``quantity``). Returns a dict
    from product id to either the :class:`ResolvedPrice` or the :class:`NoPrice` error (not
    raised, so one unpriced product does not hide the others). Precedence: module docstring.
    """
    currency = (currency or "").upper()
    quantities = quantities or {}
    product_ids = [p.pk for p in products]
    if not product_ids:
        return {}
    groups = _group_ids(account)
    group_q = Q(price_list__customer_group__isnull=True)
    if groups:
        group_q |= Q(price_list__customer_group_id__in=groups)
    list_valid = (Q(price_list__valid_from__isnull=True) | Q(price_list__valid_from__lte=on)) & (
        Q(price_list__valid_to__isnull=True) | Q(price_list__valid_to__gte=on)
    )
    items = list(
        PriceListItem.objects.filter(
            group_q,
            list_valid,
            Q(price_list__channel="") | Q(price_list__channel=channel),
            product_id__in=product_ids,
            price_list__active=True,
            price_list__currency=currency,
        ).select_related("price_list")
    )
    best: dict[int, PriceListItem] = {}
    for candidate in items:
        current = best.get(candidate.product_id)
        if current is None or _specificity(candidate) > _specificity(current):
            best[candidate.product_id] = candidate
    tiers: dict[int, list[VolumeTier]] = {}
    if best:
        for tier in VolumeTier.objects.filter(item_id__in=[i.pk for i in best.values()]).order_by(
            "item_id", "min_quantity"
        ):
            tiers.setdefault(tier.item_id, []).append(tier)

    rule_q = Q(customer_group__isnull=True)
    if groups:
        rule_q |= Q(customer_group_id__in=groups)
    grade = account.grade if account is not None else ""
    rules = list(
        DiscountRule.objects.filter(
            rule_q,
            _valid_on(on),
            Q(grade="") | Q(grade=grade or "-"),
            Q(channel="") | Q(channel=channel),
            Q(category__isnull=True) | Q(category_id__in={p.category_id for p in products if p.category_id}),
            Q(product__isnull=True) | Q(product_id__in=product_ids),
            active=True,
        ).order_by("-priority", "-percent", "id")
    )

    result: dict[int, ResolvedPrice | NoPrice] = {}
    for product in products:
        qty = quantities.get(product.pk, quantity)
        item = best.get(product.pk)
        tier_discount = ZERO_PERCENT
        tier_id: int | None = None
        if item is not None:
            plist = item.price_list
            unit_price = item.unit_price
            source = PriceSource.PRICE_LIST.value
            explanation = _("Price list “%(name)s”") % {"name": plist.name}
            item_tiers = tiers.get(item.pk, [])
            for position, tier in enumerate(item_tiers, start=1):
                if tier.min_quantity <= qty:
                    tier_id = tier.pk
                    chosen, chosen_position = tier, position
            if tier_id is not None:
                source = PriceSource.TIER.value
                if chosen.unit_price is not None:
                    unit_price = chosen.unit_price
                else:
                    tier_discount = chosen.discount_percent or ZERO_PERCENT
                explanation = _("Price list “%(name)s”, tier %(number)d") % {
                    "name": plist.name,
                    "number": chosen_position,
                }
            price_list_id: int | None = plist.pk
        elif product.currency.upper() == currency:
            unit_price = product.list_price
            source = PriceSource.LIST_PRICE.value
            explanation = _("List price")
            price_list_id = None
        else:
            result[product.pk] = NoPrice(product, currency)
            continue
        rule = next(
            (
                r
                for r in rules
                if (r.category_id is None or r.category_id == product.category_id)
                and (r.product_id is None or r.product_id == product.pk)
                and (r.min_quantity is None or r.min_quantity <= qty)
            ),
            None,
        )
        discount = tier_discount
        rule_ids: tuple[int, ...] = ()
        if rule is not None:
            discount = min(HUNDRED, tier_discount + rule.percent)
            rule_ids = (rule.pk,)
            explanation = _("%(price)s; discount rule “%(rule)s” %(percent)s%%") % {
                "price": explanation,
                "rule": rule.name,
                "percent": f"{rule.percent.normalize():f}",
            }
        result[product.pk] = ResolvedPrice(
            unit_price=unit_price,
            discount_percent=discount.quantize(Decimal("0.01")),
            tax_rate=product.tax_rate,
            price_list_id=price_list_id,
            tier_id=tier_id,
            rule_ids=rule_ids,
            source=source,
            explanation=explanation,
        )
    return result


def resolve_price(
    *,
    product: Product,
    account: Account | None,
    currency: str,
    quantity: Decimal,
    channel: str = "direct",
    on: date,
) -> ResolvedPrice:
    """The price of one product (precedence: module docstring). Raises :class:`NoPrice`
    when neither a price list nor the product's list price covers ``currency``."""
    outcome = resolve_prices(
        products=[product], account=account, currency=currency, quantity=quantity, channel=channel, on=on
    )[product.pk]
    if isinstance(outcome, NoPrice):
        raise outcome
    return outcome


# --- lists and panels ---------------------------------------------------------------------------

PAGE_SIZE = 25


def product_list(
    user: User,
    *,
    q: str = "",
    category_id: int | None = None,
    kind: str = "",
    active: bool | None = None,
) -> QuerySet[Product]:
    """Products ``user`` may read (``permissions.products_visible_to``), filtered, ordered
    by code (index ``catalogue_product_active`` / the unique code), with the product line."""
    qs = products_visible_to(user).select_related("category")
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name_zh__icontains=q) | Q(name_en__icontains=q))
    if category_id:
        qs = qs.filter(category_id=category_id)
    if kind:
        qs = qs.filter(kind=kind)
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("code", "id")


def price_list_rows() -> QuerySet[PriceList]:
    """Every price list with its customer group and item count (settings page and API)."""
    return (
        PriceList.objects.select_related("customer_group")
        .annotate(item_count=Count("items"))
        .order_by("currency", "-priority", "code")
    )


def price_list_items(price_list: PriceList) -> list[PriceListItem]:
    """A list's items with their products and tiers (two queries)."""
    return list(
        price_list.items.select_related("product")
        .prefetch_related(Prefetch("tiers", queryset=VolumeTier.objects.order_by("min_quantity")))
        .order_by("product__code")
    )


def group_rows() -> QuerySet[CustomerGroup]:
    """Every customer group with its member count."""
    return CustomerGroup.objects.annotate(member_count=Count("members")).order_by("code")


def group_members(group: CustomerGroup, user: User) -> QuerySet[Account]:
    """The accounts of a group that ``user`` can see, by name."""
    ids = CustomerGroupMember.objects.filter(group=group).values("account_id")
    return accounts_visible_to(user).filter(pk__in=ids).order_by("name", "id")


def rule_rows() -> QuerySet[DiscountRule]:
    """Every discount rule with the rows its conditions name."""
    return DiscountRule.objects.select_related("customer_group", "category", "product").order_by(
        "-priority", "name", "id"
    )


@dataclass(frozen=True)
class DealLines:
    """A deal's lines and their figures (``core.doctotals``, the deal's currency). ``margin``
    (net − quantity × product cost, lines without a cost left out) is filled only for cost
    readers; ``amount_matches`` says whether the deal's amount equals the lines' total."""

    lines: list[OpportunityLine]
    totals: DocumentTotals
    margin: Decimal | None
    margin_percent: Decimal | None
    amount_matches: bool


def deal_lines(opportunity: Opportunity, user: User) -> DealLines:
    """The lines of a deal the caller has already resolved with ``get_opportunity_for_user``
    (one query, with the products for the margin)."""
    lines = list(
        OpportunityLine.objects.filter(opportunity_id=opportunity.pk)
        .select_related("product")
        .order_by("position", "id")
    )
    totals = document_totals(
        [
            LineInput(
                quantity=x.quantity, unit_price=x.unit_price, discount_percent=x.discount_percent, tax_rate=x.tax_rate
            )
            for x in lines
        ],
        opportunity.currency,
    )
    margin: Decimal | None = None
    margin_percent: Decimal | None = None
    if sees_cost(user) and lines:
        costed = [x for x in lines if x.product is not None and x.product.cost is not None]
        if costed:
            net = sum((x.net for x in costed), Decimal("0"))
            cost = sum((x.quantity * (x.product.cost or Decimal("0")) for x in costed if x.product), Decimal("0"))
            margin = (net - cost).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            if net:
                margin_percent = (margin * 100 / net).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return DealLines(
        lines=lines,
        totals=totals,
        margin=margin,
        margin_percent=margin_percent,
        amount_matches=not lines or totals.total == opportunity.amount,
    )


def product_margin_percent(product: Product) -> Decimal | None:
    """``(list price − cost) / list price`` in percent (one place), or ``None``."""
    if product.cost is None or not product.list_price:
        return None
    ratio: Decimal = (product.list_price - product.cost) * 100 / product.list_price
    return ratio.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
