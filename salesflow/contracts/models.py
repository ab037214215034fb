"""Contracts (合同): created from an accepted quote or directly; versions are the
original (v1) and each approved amendment (变更单). A signed contract is archived:
its versions are read-only and every change is a new amendment version.

Other apps read: ``Contract`` (number, account, owner, opportunity, quote, currency,
status, dates, ``total`` of the current version, ``payment_terms``) and the current
version's lines (orders copy them). The contracts app owns the rest.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.attachments.models import Attachment
from salesflow.catalogue.models import PricedLine
from salesflow.core.models import TimestampedModel
from salesflow.core.money import MoneyField
from salesflow.parties.models import Account
from salesflow.quotes.models import Quote
from salesflow.sales.models import Opportunity


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Under approval")
    APPROVED = "approved", _("Approved")
    SIGNED = "signed", _("Signed")
    EXPIRED = "expired", _("Expired")
    TERMINATED = "terminated", _("Terminated")


class Contract(TimestampedModel):
    """A contract. ``number`` is ``HT-2026-00001`` (gapless per year). ``total`` and the
    terms are those of ``current_version`` (the latest approved one once signed).

    A signed contract ends either by itself (``expired``: the daily job, the day after its
    end date, sets ``expired_on``) or early (``terminated``: ``terminated_on`` with a reason,
    by whom and when). Expired and terminated contracts are read-only like signed ones."""

    number = models.CharField(_("number"), max_length=30, unique=True)
    title = models.CharField(_("title"), max_length=200)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("account"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("owner")
    )
    opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contracts",
        verbose_name=_("opportunity"),
    )
    quote = models.ForeignKey(
        Quote, on_delete=models.PROTECT, null=True, blank=True, related_name="contracts", verbose_name=_("quote")
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(_("status"), max_length=20, choices=ContractStatus.choices, default=ContractStatus.DRAFT)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    payment_terms = models.TextField(_("payment terms"), blank=True)
    delivery_terms = models.TextField(_("delivery terms"), blank=True)
    special_clauses = models.TextField(_("special clauses"), blank=True)
    total = MoneyField(pgettext_lazy("amount", "total"), default=Decimal("0.00"))
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    current_version = models.ForeignKey(
        "ContractVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("current version"),
    )
    # issue 9 (contracts): added in 0002
    non_standard_terms = models.BooleanField(_("non-standard terms"), default=False)
    signed_file = models.ForeignKey(
        Attachment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("signed file"),
    )
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    renewal_reminded_on = models.DateField(_("renewal reminder sent for end date"), null=True, blank=True)
    renewal_opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="renewed_contracts",
        verbose_name=_("renewal opportunity"),
    )
    # issue 9 (expiry and termination): added in 0003
    terminated_on = models.DateField(_("terminated on"), null=True, blank=True)
    termination_reason = models.TextField(_("reason for termination"), blank=True)
    terminated_at = models.DateTimeField(_("terminated at"), null=True, blank=True)
    terminated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("terminated by"),
    )
    expired_on = models.DateField(_("expired on"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        indexes = [
            models.Index(fields=["owner", "status"], name="contracts_owner_status"),
            # renewal reminders and the expiry job: signed contracts by end date
            models.Index(fields=["status", "end_date"], name="contracts_status_end"),
            # the list filtered by status in its default order (newest first)
            models.Index(fields=["status", "-created_at", "-id"], name="contracts_status_created"),
            # the list's sorts (keyset: the sort column then id) and filters
            models.Index(fields=["-created_at", "-id"], name="contracts_created"),
            models.Index(fields=["end_date", "id"], name="contracts_end"),
            models.Index(fields=["total", "id"], name="contracts_total"),
            models.Index(fields=["account", "-created_at"], name="contracts_account"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class ContractVersion(TimestampedModel):
    """Version 1 is the contract as first approved; each amendment (变更单) is the next
    version with ``change_summary``. ``terms`` freezes the version's terms (dates,
    payment and delivery terms, clauses) so a diff between versions is exact."""

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="versions", verbose_name=_("contract")
    )
    version = models.PositiveSmallIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=20, choices=ContractStatus.choices, default=ContractStatus.DRAFT)
    change_summary = models.TextField(_("reason for the change"), blank=True)
    terms = models.JSONField(_("terms"), default=dict, blank=True)
    prices_include_tax = models.BooleanField(_("prices include tax"), default=False)
    subtotal = MoneyField(_("subtotal"), default=Decimal("0.00"))
    discount = MoneyField(_("discount"), default=Decimal("0.00"))
    net = MoneyField(_("net amount"), default=Decimal("0.00"))
    tax = MoneyField(_("tax"), default=Decimal("0.00"))
    total = MoneyField(pgettext_lazy("amount", "total"), default=Decimal("0.00"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    # issue 9 (contracts): added in 0002
    number = models.CharField(_("change order number"), max_length=30, blank=True)
    decision_comment = models.TextField(_("approval comment"), blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    class Meta:
        ordering = ["contract", "version"]
        verbose_name = _("contract version")
        verbose_name_plural = _("contract versions")
        constraints = [
            models.UniqueConstraint(fields=["contract", "version"], name="contracts_version_unique"),
            models.CheckConstraint(condition=Q(version__gte=1), name="contracts_version_positive"),
            models.UniqueConstraint(fields=["number"], condition=~Q(number=""), name="contracts_change_order_number"),
        ]

    def __str__(self) -> str:
        return f"{self.contract.number} v{self.version}"


class ContractLine(PricedLine):
    version = models.ForeignKey(
        ContractVersion, on_delete=models.CASCADE, related_name="lines", verbose_name=_("version")
    )

    class Meta(PricedLine.Meta):
        verbose_name = _("contract line")
        verbose_name_plural = _("contract lines")


class ContractSettings(models.Model):
    """The contracts' business configuration, one row (``pk=1``) edited by administrators on
    the reminder settings page and the API (``contracts.services.contract_settings_save``,
    audited). A missing row reads as the defaults."""

    renewal_reminder_days = models.PositiveSmallIntegerField(_("renewal reminder days before the end date"), default=60)

    class Meta:
        verbose_name = _("contract settings")
        verbose_name_plural = _("contract settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(renewal_reminder_days__gte=1) & Q(renewal_reminder_days__lte=3650),
                name="contracts_renewal_days_range",
            ),
            models.CheckConstraint(condition=Q(pk=1), name="contracts_settings_single_row"),
        ]

    def __str__(self) -> str:
        return str(_("Contract settings"))
