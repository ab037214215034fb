"""Orders (订单) and their lines. An order comes from a signed contract or from an accepted
quote where no contract is needed. Deliveries (owned by this app) reduce what is open on
each line; the order's status is derived from them (``orders.status.derive_status``, the
one function, called by ``orders.services.order_refresh_status``).

Invariants the database keeps (check constraints, both databases):

- ``0 ≤ OrderLine.delivered_quantity ≤ OrderLine.quantity`` — a line is never over-delivered,
  whatever code path writes it (the services check first under a row lock on the order);
- a delivery line delivers a positive quantity, once per order line and delivery;
- at most one order that is not cancelled per contract and per quote.

Other apps read: ``Order`` (number, account, owner, contract, quote, currency, total,
status) — billing plans payments and invoices against it. The orders app owns the rest.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.attachments.models import Attachment
from salesflow.catalogue.models import PricedLine
from salesflow.contracts.models import Contract
from salesflow.core.models import TimestampedModel
from salesflow.core.money import MoneyField
from salesflow.core.quantities import QuantityField
from salesflow.orders.choices import DeliveryStatus, FulfilmentStatus
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
    total = MoneyField(pgettext_lazy("amount", "total"), default=Decimal("0.00"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    # --- issue 9 (orders): hand-off, cancellation, customer acceptance
    fulfilment_status = models.CharField(
        _("fulfilment status"),
        max_length=20,
        choices=FulfilmentStatus.choices,
        default=FulfilmentStatus.NOT_STARTED,
    )
    expected_date = models.DateField(_("expected date"), null=True, blank=True)
    handed_off_at = models.DateTimeField(_("handed off at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.TextField(_("reason for the cancellation"), blank=True)
    accepted_on = models.DateField(_("accepted on"), null=True, blank=True)
    acceptance_note = models.TextField(_("acceptance note"), blank=True)
    acceptance_file = models.ForeignKey(
        Attachment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acceptance file"),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["owner", "status"], name="orders_owner_status"),
            models.Index(fields=["status", "-created_at"], name="orders_status_created"),
            # the order list's default sort (newest first) for every scope, and its keyset pages
            models.Index(fields=["-created_at", "-id"], name="orders_created_idx"),
            # a rep's / assistant's order list: owner filter then the default sort
            models.Index(fields=["owner", "-created_at", "-id"], name="orders_owner_created_idx"),
            # list filter ?fulfilment= and the hand-off board of production
            models.Index(fields=["fulfilment_status", "expected_date"], name="orders_fulfilment_idx"),
            # list filter/sort by expected date (?expected_from/?expected_to, sort=expected_date)
            models.Index(fields=["expected_date", "id"], name="orders_expected_idx"),
            # the account page's orders panel and the list filter ?account=
            models.Index(fields=["account", "-created_at"], name="orders_account_idx"),
            # sort=total on the list
            models.Index(fields=["total", "id"], name="orders_total_idx"),
        ]
        constraints = [
            # one live order per signed contract and per accepted quote (a race is a 409)
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(contract__isnull=False) & ~Q(status="cancelled"),
                name="orders_one_live_per_contract",
            ),
            models.UniqueConstraint(
                fields=["quote"],
                condition=Q(quote__isnull=False) & ~Q(status="cancelled"),
                name="orders_one_live_per_quote",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}"


class OrderLine(PricedLine):
    """A line copied from the contract's current version or the accepted quote version.

    ``delivered_quantity`` is the sum of the quantities of the line in recorded (not voided)
    deliveries, kept by the delivery services under the order's row lock; the check
    constraint ``orders_line_not_over_delivered`` makes over-delivery impossible in the
    database as well."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    delivered_quantity = QuantityField(_("delivered quantity"), default=Decimal("0.000"))

    class Meta(PricedLine.Meta):
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(delivered_quantity__gte=0) & Q(delivered_quantity__lte=F("quantity")),
                name="orders_line_not_over_delivered",
            ),
        ]

    @property
    def open_quantity(self) -> Decimal:
        """What is still to deliver on this line."""
        ordered: Decimal = self.quantity
        delivered: Decimal = self.delivered_quantity
        return ordered - delivered


class Delivery(TimestampedModel):
    """A delivery (发货单, ``FH-2026-00001``, gapless per year) of some quantities of an
    order's lines. A voided delivery (``status=voided``, with a reason) no longer counts;
    nothing is ever deleted. Installation (安装) is recorded on the delivery with a date and
    a file (an attachment on the order)."""

    number = models.CharField(_("number"), max_length=30, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("order"))
    delivered_on = models.DateField(_("delivered on"))
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.RECORDED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    void_reason = models.TextField(_("reason for voiding"), blank=True)
    installed_on = models.DateField(_("installed on"), null=True, blank=True)
    installation_note = models.TextField(_("installation note"), blank=True)
    installation_file = models.ForeignKey(
        Attachment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("installation file"),
    )

    class Meta:
        ordering = ["-delivered_on", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            # the order page's and the API's deliveries of one order
            models.Index(fields=["order", "-delivered_on", "-id"], name="orders_delivery_order_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class DeliveryLine(models.Model):
    """How much of one order line a delivery delivers (positive, exact thousandths)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="lines", verbose_name=_("delivery"))
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="delivery_lines", verbose_name=_("order line")
    )
    quantity = QuantityField(_("quantity"))

    class Meta:
        ordering = ["order_line__position", "order_line_id"]
        verbose_name = _("delivery line")
        verbose_name_plural = _("delivery lines")
        constraints = [
            models.UniqueConstraint(fields=["delivery", "order_line"], name="orders_delivery_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orders_delivery_line_positive"),
        ]
        indexes = [
            # "deliveries of this order line" (sum per line when a delivery is voided)
            models.Index(fields=["order_line"], name="orders_delline_line_idx"),
        ]
