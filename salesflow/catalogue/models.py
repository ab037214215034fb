"""The catalogue (产品目录): product lines (categories) and products and services.

Other apps (quotes, orders, plans) reference :class:`Product` and read its code, names,
unit, tax rate and list price; the catalogue app owns everything else (price lists,
volume tiers, discount rules, deal line items) and the price lookup.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from salesflow.catalogue.choices import Channel
from salesflow.core.models import TimestampedModel
from salesflow.core.money import MoneyField
from salesflow.core.quantities import PercentField, QuantityField
from salesflow.parties.choices import Grade


class ProductKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    SERVICE = "service", _("Service")


class ProductCategory(TimestampedModel):
    """A category, which is also the product line that approval rules and plans name."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("product line")
        verbose_name_plural = _("product lines")

    def __str__(self) -> str:
        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en


class Product(TimestampedModel):
    """A product or service. ``list_price`` is in ``currency`` and excludes tax;
    ``cost`` is protected money (margin), shown only to roles that see costs."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    kind = models.CharField(_("type"), max_length=10, choices=ProductKind.choices, default=ProductKind.PRODUCT)
    unit = models.CharField(_("unit"), max_length=20)
    category = models.ForeignKey(
        ProductCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="products",
        verbose_name=_("product line"),
    )
    tax_rate = PercentField(_("tax rate (%)"), default=Decimal("13.00"))
    list_price = MoneyField(_("list price"), default=Decimal("0.00"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    cost = MoneyField(_("cost"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [models.Index(fields=["active", "code"], name="catalogue_product_active")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def name(self) -> str:
        """The name in the active language."""
        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en


class PricedLine(models.Model):
    """The shape of a priced document line (quote, contract, order, invoice lines).

    Code, names, unit and prices are copied from the product when the line is written
    (frozen: a later catalogue change never alters an issued document). The figures
    ``gross``… ``total`` are written from :func:`salesflow.core.doctotals.line_totals`.
    """

    position = models.PositiveSmallIntegerField(pgettext_lazy("ordering", "position"), default=0)
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    code = models.CharField(_("code"), max_length=40, blank=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    quantity = QuantityField(_("quantity"), default=Decimal("1.000"))
    unit_price = MoneyField(_("unit price"), default=Decimal("0.00"))
    discount_percent = PercentField(_("discount (%)"), default=Decimal("0.00"))
    tax_rate = PercentField(_("tax rate (%)"), default=Decimal("0.00"))
    gross = MoneyField(_("amount before discount"), default=Decimal("0.00"))
    discount = MoneyField(_("discount"), default=Decimal("0.00"))
    net = MoneyField(_("net amount"), default=Decimal("0.00"))
    tax = MoneyField(_("tax"), default=Decimal("0.00"))
    total = MoneyField(pgettext_lazy("amount", "total"), default=Decimal("0.00"))

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    @property
    def name(self) -> str:
        zh = (get_language() or "").startswith("zh")
        return self.name_zh if zh or not self.name_en else self.name_en


# --- issue 9 (catalogue): customer groups, price lists, tiers, discount rules, deal lines ---

NAME_LENGTH = 100
DESCRIPTION_LENGTH = 2000


class CustomerGroup(TimestampedModel):
    """A named group of accounts (客户组: VIP, distributors, key accounts) that price lists and
    discount rules name. Membership lives in :class:`CustomerGroupMember`, because the
    parties app sits below the catalogue and cannot name a group."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=NAME_LENGTH)
    name_en = models.CharField(_("name (English)"), max_length=NAME_LENGTH)
    active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("description"), max_length=DESCRIPTION_LENGTH, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("customer group")
        verbose_name_plural = _("customer groups")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en


class CustomerGroupMember(models.Model):
    """An account's membership of a customer group (one row per pair)."""

    group = models.ForeignKey(CustomerGroup, on_delete=models.CASCADE, related_name="members")
    account = models.ForeignKey("parties.Account", on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "account"], name="catalogue_group_member_unique")]
        # the groups of one account (resolve_price): account first
        indexes = [models.Index(fields=["account", "group"], name="catalogue_member_account")]


class PriceList(TimestampedModel):
    """A price list (价目表) for one currency, optionally narrowed to a customer group and a
    channel, valid from ``valid_from`` to ``valid_to`` inclusive (either open-ended when
    empty). Which list wins for a deal is decided by
    :func:`salesflow.catalogue.selectors.resolve_prices` (see its docstring)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=NAME_LENGTH)
    name_en = models.CharField(_("name (English)"), max_length=NAME_LENGTH)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    channel = models.CharField(
        _("channel"), max_length=20, choices=Channel.choices, blank=True, help_text=_("Empty: every channel.")
    )
    customer_group = models.ForeignKey(
        CustomerGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="price_lists",
        verbose_name=_("customer group"),
        help_text=_("Empty: every customer."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    priority = models.IntegerField(_("priority"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["currency", "-priority", "code"]
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        # candidate lists of a lookup: active lists of one currency
        indexes = [models.Index(fields=["currency", "active"], name="catalogue_pricelist_cur")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_to__isnull=True)
                | models.Q(valid_from__lte=models.F("valid_to")),
                name="catalogue_pricelist_dates",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en


class PriceListItem(models.Model):
    """A product's unit price (excluding tax) on a price list, in the list's currency."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_items")
    unit_price = MoneyField(_("unit price"))

    class Meta:
        ordering = ["price_list", "product__code"]
        verbose_name = _("price list item")
        verbose_name_plural = _("price list items")
        constraints = [models.UniqueConstraint(fields=["price_list", "product"], name="catalogue_item_unique")]
        # the lists that price a product (resolve_prices): product first
        indexes = [models.Index(fields=["product", "price_list"], name="catalogue_item_product")]


class VolumeTier(models.Model):
    """A volume tier (阶梯价) of a price-list item: from ``min_quantity`` on, either a
    different ``unit_price`` or a ``discount_percent`` off the item's price (exactly one)."""

    item = models.ForeignKey(PriceListItem, on_delete=models.CASCADE, related_name="tiers")
    min_quantity = QuantityField(_("minimum quantity"))
    unit_price = MoneyField(_("unit price"), null=True, blank=True)
    discount_percent = PercentField(_("discount (%)"), null=True, blank=True)

    class Meta:
        ordering = ["item", "min_quantity"]
        verbose_name = _("volume tier")
        verbose_name_plural = _("volume tiers")
        constraints = [
            models.UniqueConstraint(fields=["item", "min_quantity"], name="catalogue_tier_unique"),
            models.CheckConstraint(
                condition=(models.Q(unit_price__isnull=True) & models.Q(discount_percent__isnull=False))
                | (models.Q(unit_price__isnull=False) & models.Q(discount_percent__isnull=True)),
                name="catalogue_tier_price_or_discount",
            ),
        ]


class DiscountRule(TimestampedModel):
    """A discount rule as data (折扣规则): ``percent`` off when every condition that is set
    matches (customer group, customer grade, product line, product, channel, minimum
    quantity) on a date within the validity. One rule applies per line: the matching rule
    with the highest ``priority`` (see ``selectors.resolve_prices``)."""

    name = models.CharField(_("name"), max_length=NAME_LENGTH)
    percent = PercentField(_("discount (%)"))
    priority = models.IntegerField(_("priority"), default=0)
    customer_group = models.ForeignKey(
        CustomerGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer group"),
    )
    grade = models.CharField(_("customer grade"), max_length=1, choices=Grade.choices, blank=True)
    category = models.ForeignKey(
        ProductCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product line"),
    )
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    min_quantity = QuantityField(_("minimum quantity"), null=True, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-priority", "name", "id"]
        verbose_name = _("discount rule")
        verbose_name_plural = _("discount rules")
        # the active rules a lookup reads
        indexes = [models.Index(fields=["active", "priority"], name="catalogue_rule_active")]

    def __str__(self) -> str:
        return self.name


class OpportunityLine(PricedLine):
    """A product on a deal (商机产品明细). The figures are written by the catalogue services
    through ``core.doctotals`` in the deal's currency; while a deal has lines its amount is
    their total (``services.opportunity_lines_sync``)."""

    opportunity = models.ForeignKey(
        "sales.Opportunity", on_delete=models.CASCADE, related_name="lines", verbose_name=_("opportunity")
    )
    price_list = models.ForeignKey(PriceList, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    price_source = models.CharField(_("price source"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta(PricedLine.Meta):
        verbose_name = _("deal line")
        verbose_name_plural = _("deal lines")
        # the panel and the totals of one deal
        indexes = [models.Index(fields=["opportunity", "position"], name="catalogue_oppline_opp")]
