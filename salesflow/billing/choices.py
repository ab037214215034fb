"""Choices of payment collection (回款) and invoices (发票)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DocumentKind(models.TextChoices):
    """What a payment plan belongs to."""

    CONTRACT = "contract", _("Contract")
    ORDER = "order", pgettext_lazy("document kind", "Order")


class InstalmentStatus(models.TextChoices):
    """Derived by ``billing.status.instalment_status`` — never stored."""

    PENDING = "pending", pgettext_lazy("instalment status", "Pending")
    PARTLY_PAID = "partly_paid", _("Partly paid")
    PAID = "paid", _("Paid")
    OVERDUE = "overdue", _("Overdue")
    VOID = "void", pgettext_lazy("instalment status", "Void")


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    ACCEPTANCE_BILL = "acceptance_bill", _("Bank acceptance bill")
    CHEQUE = "cheque", _("Cheque")
    CASH = "cash", _("Cash")
    ONLINE = "online", _("Online payment")
    OTHER = "other", _("Other")


class PaymentStatus(models.TextChoices):
    RECORDED = "recorded", _("Recorded")
    VOID = "void", pgettext_lazy("payment status", "Void")


class InvoiceType(models.TextChoices):
    VAT_SPECIAL = "vat_special", _("VAT special invoice")
    VAT_NORMAL = "vat_normal", _("VAT normal invoice")


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    VOID = "void", pgettext_lazy("invoice status", "Void")
    RED_REVERSED = "red_reversed", _("Red-reversed")


class AgeingBucket(models.TextChoices):
    """Days past the due date of what is still open on an instalment."""

    CURRENT = "current", _("Current")
    D1_30 = "1_30", _("1–30 days")
    D31_60 = "31_60", _("31–60 days")
    D61_90 = "61_90", _("61–90 days")
    D90_PLUS = "90_plus", _("Over 90 days")


class AgeingGroup(models.TextChoices):
    CUSTOMER = "customer", pgettext_lazy("ageing group", "Customer")
    REP = "rep", _("Sales rep")
    TEAM = "team", _("Team")
