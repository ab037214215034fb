"""The catalogue (产品目录): product lines (categories) and products and services.

Other apps (quotes, orders, plans) reference :class:`Product` and read its code, names,
unit, tax rate and list price; the catalogue app owns everything else (price lists,
volume tiers, discount rules, deal line items) and the price lookup.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from salesflow.core.models import TimestampedModel
from salesflow.core.money import MoneyField
from salesflow.core.quantities import PercentField, QuantityField


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

    position = models.PositiveSmallIntegerField(_("position"), default=0)
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
    total = MoneyField(_("total"), default=Decimal("0.00"))

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    @property
    def name(self) -> str:
        zh = (get_language() or "").startswith("zh")
        return self.name_zh if zh or not self.name_en else self.name_en
