"""Orders (订单) and their lines. An order comes from a signed contract or from an accepted
quote where no contract is needed. Deliveries (owned by this app) reduce what is open on
each line; the order's status is derived from them.

Other apps read: ``Order`` (number, account, owner, contract, quote, currency, total,
status) — billing plans payments and invoices against it. The orders app owns the rest.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from salesflow.catalogue.models import PricedLine
from salesflow.contracts.models import Contract
from salesflow.core.models import TimestampedModel
from salesflow.core.money import MoneyField
from salesflow.parties.models import Account
from salesflow.quotes.models import Quote
from salesflow.sales.models import Opportunity


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CONFIRMED = "confirmed", _("Confirmed")
    PARTLY_DELIVERED = "partly_delivered", _("Partly delivered")
    DELIVERED = "delivered", _("Delivered")
    ACCEPTED = "accepted", _("Accepted by the customer")
    CANCELLED = "cancelled", _("Cancelled")


class Order(TimestampedModel):
    """An order. ``number`` is ``DD-2026-00001`` (gapless per year)."""

    number = models.CharField(_("number"), max_length=30, unique=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="orders", verbose_name=_("account"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", verbose_name=_("owner")
    )
    opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("opportunity"),
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="orders", verbose_name=_("contract")
    )
    quote = models.ForeignKey(
        Quote, on_delete=models.PROTECT, null=True, blank=True, related_name="orders", verbose_name=_("quote")
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    prices_include_tax = models.BooleanField(_("prices include tax"), default=False)
    subtotal = MoneyField(_("subtotal"), default=Decimal("0.00"))
    discount = MoneyField(_("discount"), default=Decimal("0.00"))
    net = MoneyField(_("net amount"), default=Decimal("0.00"))
    tax = MoneyField(_("tax"), default=Decimal("0.00"))
    total = MoneyField(_("total"), default=Decimal("0.00"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["owner", "status"], name="orders_owner_status"),
            models.Index(fields=["status", "-created_at"], name="orders_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.number}"


class OrderLine(PricedLine):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))

    class Meta(PricedLine.Meta):
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
