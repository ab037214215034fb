"""Quotes (报价单): a quote belongs to an opportunity and has versions; each version is a
full, frozen document once issued (lines, prices, taxes, customer data).

Other apps read: ``Quote`` (number, opportunity, account, owner, currency, status,
``accepted_version``) and ``QuoteVersion``/``QuoteLine`` (the accepted lines and totals,
from which contracts and orders copy their lines). The quotes app owns the rest.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.catalogue.models import PricedLine
from salesflow.core.models import TimestampedModel
from salesflow.core.money import MoneyField
from salesflow.parties.models import Account
from salesflow.sales.models import Opportunity


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Under approval")
    APPROVED = "approved", _("Approved")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    SUPERSEDED = "superseded", _("Superseded")


class Quote(TimestampedModel):
    """The quote thread: one number (``QT-2026-00001``, gapless per year, assigned when
    the quote is created) and its versions. ``status`` is the current version's status."""

    number = models.CharField(_("number"), max_length=30, unique=True)
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.PROTECT, related_name="quotes", verbose_name=_("opportunity")
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="quotes", verbose_name=_("account"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="quotes", verbose_name=_("owner")
    )
    title = models.CharField(_("title"), max_length=200)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(_("status"), max_length=20, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    current_version = models.ForeignKey(
        "QuoteVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("current version"),
    )
    accepted_version = models.ForeignKey(
        "QuoteVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("accepted version"),
    )
    total = MoneyField(pgettext_lazy("amount", "total"), default=Decimal("0.00"))
    # issue 9 (quotes): added fields
    contact = models.ForeignKey(
        "parties.Contact",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quotes",
        verbose_name=_("contact"),
    )
    language = models.CharField(_("language"), max_length=10, default="zh-hans")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        indexes = [
            models.Index(fields=["owner", "status"], name="quotes_owner_status"),
            models.Index(fields=["status", "-created_at"], name="quotes_status_created"),
            # the list's sorts (newest first is the default) and its account/owner filters
            models.Index(fields=["created_at", "id"], name="quotes_created"),
            models.Index(fields=["total", "id"], name="quotes_total"),
            models.Index(fields=["owner", "created_at", "id"], name="quotes_owner_created"),
            models.Index(fields=["account", "created_at", "id"], name="quotes_account_created"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class QuoteVersion(TimestampedModel):
    """One version of a quote. Editable only while ``draft``; from issue on, immutable:
    ``customer`` holds the frozen customer data (name, address, tax id, contact)."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="versions", verbose_name=_("quote"))
    version = models.PositiveSmallIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=20, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    prices_include_tax = models.BooleanField(_("prices include tax"), default=False)
    customer = models.JSONField(_("customer data"), default=dict, blank=True)
    terms = models.TextField(_("terms"), blank=True)
    subtotal = MoneyField(_("subtotal"), default=Decimal("0.00"))
    discount = MoneyField(_("discount"), default=Decimal("0.00"))
    net = MoneyField(_("net amount"), default=Decimal("0.00"))
    tax = MoneyField(_("tax"), default=Decimal("0.00"))
    total = MoneyField(pgettext_lazy("amount", "total"), default=Decimal("0.00"))
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_ip = models.GenericIPAddressField(_("decided from IP"), null=True, blank=True)
    decided_by_name = models.CharField(_("decided by"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    # issue 9 (quotes): added fields
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    decided_user_agent = models.CharField(_("decided from browser"), max_length=300, blank=True)

    class Meta:
        ordering = ["quote", "version"]
        verbose_name = _("quote version")
        verbose_name_plural = _("quote versions")
        constraints = [
            models.UniqueConstraint(fields=["quote", "version"], name="quotes_version_unique"),
            models.CheckConstraint(condition=Q(version__gte=1), name="quotes_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quote.number} v{self.version}"


class QuoteLine(PricedLine):
    version = models.ForeignKey(QuoteVersion, on_delete=models.CASCADE, related_name="lines", verbose_name=_("version"))

    class Meta(PricedLine.Meta):
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")


# --- issue 9 (quotes): added by the quotes app ------------------------------------------------


class QuoteLanguage(models.TextChoices):
    ZH = "zh-hans", "中文"
    EN = "en", "English"


class CompanyProfile(TimestampedModel):
    """The seller's header on quotes (one row, ``pk=1``; administrators edit it)."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    address_zh = models.CharField(_("address (Chinese)"), max_length=300, blank=True)
    address_en = models.CharField(_("address (English)"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    tax_id = models.CharField(_("tax id"), max_length=30, blank=True)
    bank_name = models.CharField(_("bank"), max_length=200, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("company profile")
        verbose_name_plural = _("company profile")

    def __str__(self) -> str:
        return self.name_zh or self.name_en or "—"
