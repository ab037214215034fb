"""Payment collection (回款) and invoices (发票).

- ``PaymentPlan`` (回款计划): one per contract or order, its ``Instalment`` rows (分期) with
  amounts and due dates. The sum of the plan's live (not void) instalments never exceeds
  the document's total: ``billing.services`` checks it under the plan's row lock.
- ``Payment`` (回款): money received from a customer, ``Allocation`` rows spread it over
  instalments. ``Payment.allocated`` and ``Instalment.paid`` are the sums of their live
  allocations, kept by the services in the same transaction (row locks), so lists and the
  ageing report read them without a join. ``Σ allocations ≤ payment`` and
  ``paid ≤ instalment amount`` hold on every commit.
- ``Invoice`` (发票): ``FP-YYYY-NNNNN`` once issued; issued invoices are immutable (only
  void or red reversal, 红冲, change their status).
- ``ReminderRule``: the days before (negative) or after (positive) a due date on which the
  owner and their assistants are reminded; ``InstalmentReminder`` makes each reminder once.

``owner``, ``account`` and ``currency`` are copied from the document onto plans,
instalments, payments and invoices: visibility, the money policy and the ageing report
filter on them through indexes (they are the document's values when the row was written).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.billing.choices import InvoiceStatus, InvoiceType, PaymentMethod, PaymentStatus
from salesflow.contracts.models import Contract
from salesflow.core.models import TimestampedModel
from salesflow.core.money import MoneyField
from salesflow.core.quantities import PercentField
from salesflow.orders.models import Order
from salesflow.parties.models import Account
from salesflow.sales.models import Opportunity

LABEL_LENGTH = 100
TEXT_LENGTH = 200
NOTE_LENGTH = 2000
TERMS_LENGTH = 500
MAX_INSTALMENTS = 120
MAX_REMINDER_DAYS = 365
ZERO = Decimal("0.00")

_OWNER = settings.AUTH_USER_MODEL


class PaymentPlan(TimestampedModel):
    """The payment plan of one contract or one order (exactly one of the two)."""

    contract = models.OneToOneField(
        Contract,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="payment_plan",
        verbose_name=_("contract"),
    )
    order = models.OneToOneField(
        Order, on_delete=models.CASCADE, null=True, blank=True, related_name="payment_plan", verbose_name=_("order")
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account"))
    owner = models.ForeignKey(_OWNER, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner"))
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("opportunity")
    )
    currency = models.CharField(_("currency"), max_length=3)
    terms = models.CharField(_("payment terms"), max_length=TERMS_LENGTH, blank=True)
    created_by = models.ForeignKey(
        _OWNER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment plan")
        verbose_name_plural = _("payment plans")
        constraints = [
            models.CheckConstraint(
                condition=Q(contract__isnull=False, order__isnull=True) | Q(contract__isnull=True, order__isnull=False),
                name="billing_plan_one_document",
            )
        ]
        indexes = [
            # the account's collections panel; the owner scope of plan lists
            models.Index(fields=["account", "created_at"], name="billing_plan_account"),
            models.Index(fields=["owner", "created_at"], name="billing_plan_owner"),
        ]

    @property
    def document(self) -> Contract | Order:
        document = self.contract if self.contract_id else self.order
        assert document is not None
        return document

    @property
    def kind(self) -> str:
        return "contract" if self.contract_id else "order"

    def __str__(self) -> str:
        return str(_("Payment plan of %(document)s") % {"document": self.document.number})


class Instalment(TimestampedModel):
    """One instalment (分期) of a plan. ``paid`` = Σ live allocations (kept by the services);
    ``is_open`` = not void and ``paid < amount`` (indexed for the ageing report)."""

    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="instalments", verbose_name=_("plan"))
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account"))
    owner = models.ForeignKey(_OWNER, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner"))
    currency = models.CharField(_("currency"), max_length=3)
    position = models.PositiveSmallIntegerField(pgettext_lazy("instalment", "position"), default=1)
    label = models.CharField(_("label"), max_length=LABEL_LENGTH, blank=True)
    amount = MoneyField(_("amount"))
    paid = MoneyField(_("paid"), default=ZERO)
    due_date = models.DateField(_("due date"))
    is_open = models.BooleanField(pgettext_lazy("instalment", "open"), default=True)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    void_reason = models.CharField(_("reason for voiding"), max_length=TEXT_LENGTH, blank=True)
    voided_by = models.ForeignKey(
        _OWNER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("voided by")
    )

    class Meta:
        ordering = ["plan", "due_date", "position", "id"]
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="billing_instalment_amount_positive"),
            models.CheckConstraint(
                condition=Q(paid__gte=0) & Q(paid__lte=F("amount")), name="billing_instalment_paid_within"
            ),
        ]
        indexes = [
            # reminders and the drill-down: open instalments by due date
            models.Index(fields=["is_open", "due_date"], name="billing_inst_open_due"),
            # the ageing report grouped by rep (and team) or by customer, and a rep's or an
            # account's rows: covering indexes in GROUP BY order (owner|account, currency), so
            # the aggregate walks one index without a sort and never reads the table
            models.Index(
                fields=["owner", "account", "currency", "is_open", "due_date", "amount", "paid"],
                name="billing_inst_age_owner",
            ),
            models.Index(
                fields=["account", "currency", "is_open", "due_date", "amount", "paid"], name="billing_inst_age_account"
            ),
        ]

    @property
    def outstanding(self) -> Decimal:
        return ZERO if self.voided_at else self.amount - self.paid

    def __str__(self) -> str:
        return self.label or str(_("Instalment %(n)s") % {"n": self.position})


class Payment(TimestampedModel):
    """Money received (回款), ``HK-YYYY-NNNNN``. ``allocated`` = Σ live allocations;
    ``amount − allocated`` is the unallocated remainder (an overpayment when > 0)."""

    number = models.CharField(_("number"), max_length=30, unique=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account"))
    owner = models.ForeignKey(_OWNER, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner"))
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("opportunity")
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("contract")
    )
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    currency = models.CharField(_("currency"), max_length=3)
    amount = MoneyField(_("amount"))
    allocated = MoneyField(_("allocated"), default=ZERO)
    received_on = models.DateField(_("received on"))
    method = models.CharField(
        _("method"), max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER
    )
    reference = models.CharField(_("reference"), max_length=TEXT_LENGTH, blank=True)
    payer = models.CharField(_("payer"), max_length=TEXT_LENGTH, blank=True)
    note = models.TextField(_("note"), max_length=NOTE_LENGTH, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.RECORDED)
    void_reason = models.CharField(_("reason for voiding"), max_length=TEXT_LENGTH, blank=True)
    recorded_by = models.ForeignKey(
        _OWNER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(allocated__gte=0) & Q(allocated__lte=F("amount")), name="billing_payment_allocated_within"
            ),
        ]
        indexes = [
            # payment list sorted by date (everyone / per owner), the account panel
            models.Index(fields=["-received_on", "-id"], name="billing_pay_received"),
            models.Index(fields=["owner", "-received_on", "-id"], name="billing_pay_owner_received"),
            models.Index(fields=["account", "-received_on"], name="billing_pay_account_received"),
            # issue 10's collections figure (analytics.metrics payments_qs): WHERE owner_id IN (…)
            # AND received_on in the period AND status='recorded' GROUP BY owner, currency, day,
            # from the index alone
            models.Index(
                fields=["owner", "received_on", "status", "currency", "amount"], name="billing_pay_owner_facts"
            ),
        ]

    @property
    def unallocated(self) -> Decimal:
        return ZERO if self.status == PaymentStatus.VOID else self.amount - self.allocated

    def __str__(self) -> str:
        return self.number


class Allocation(TimestampedModel):
    """Part of a payment applied to an instalment (one row per pair; re-allocating adds to it)."""

    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, related_name="allocations", verbose_name=_("payment")
    )
    instalment = models.ForeignKey(
        Instalment, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("instalment")
    )
    amount = MoneyField(_("amount"))
    created_by = models.ForeignKey(
        _OWNER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        ordering = ["payment", "id"]
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        constraints = [
            models.UniqueConstraint(fields=["payment", "instalment"], name="billing_allocation_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_allocation_positive"),
        ]
        indexes = [models.Index(fields=["instalment"], name="billing_alloc_instalment")]


class Invoice(TimestampedModel):
    """An invoice (发票). ``number`` (``FP-YYYY-NNNNN``) is given when it is issued; an issued
    invoice is frozen: voiding or red reversal (红冲, a negative invoice that ``reverses`` it)
    are the only changes."""

    number = models.CharField(_("number"), max_length=30, blank=True)
    invoice_type = models.CharField(
        _("type"), max_length=20, choices=InvoiceType.choices, default=InvoiceType.VAT_NORMAL
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account"))
    owner = models.ForeignKey(_OWNER, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner"))
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("opportunity")
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("contract")
    )
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    payments = models.ManyToManyField(Payment, blank=True, related_name="invoices", verbose_name=_("payments"))
    currency = models.CharField(_("currency"), max_length=3)
    title = models.CharField(_("buyer"), max_length=TEXT_LENGTH, blank=True)
    buyer_tax_id = models.CharField(_("buyer's tax id"), max_length=30, blank=True)
    tax_rate = PercentField(_("tax rate"), default=Decimal("13.00"))
    net = MoneyField(_("amount excluding tax"), default=ZERO)
    tax = MoneyField(_("tax"), default=ZERO)
    total = MoneyField(_("total including tax"), default=ZERO)
    status = models.CharField(_("status"), max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    note = models.TextField(_("note"), max_length=NOTE_LENGTH, blank=True)
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by", verbose_name=_("reverses")
    )
    void_reason = models.CharField(_("reason"), max_length=TEXT_LENGTH, blank=True)
    created_by = models.ForeignKey(
        _OWNER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            models.UniqueConstraint(fields=["number"], condition=~Q(number=""), name="billing_invoice_number_unique"),
        ]
        indexes = [
            # invoice list newest first (everyone / per owner), the account panel
            models.Index(fields=["-created_at", "-id"], name="billing_inv_created"),
            models.Index(fields=["owner", "-created_at", "-id"], name="billing_inv_owner_created"),
            models.Index(fields=["account", "status"], name="billing_inv_account_status"),
        ]

    def __str__(self) -> str:
        return self.number or str(_("Draft invoice #%(id)s") % {"id": self.pk})


class ReminderRule(models.Model):
    """Remind the owner and their assistants ``days`` days after a due date (negative:
    before it). Seeded −7, −1, +1, +7, +30; administrators change them."""

    days = models.SmallIntegerField(_("days relative to the due date"), unique=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["days"]
        verbose_name = _("payment reminder rule")
        verbose_name_plural = _("payment reminder rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(days__gte=-MAX_REMINDER_DAYS) & Q(days__lte=MAX_REMINDER_DAYS),
                name="billing_reminder_days_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.days:+d}"


class InstalmentReminder(models.Model):
    """One reminder sent: per instalment, rule day and due date (a new due date is a new
    episode), so the reminder job is idempotent."""

    instalment = models.ForeignKey(Instalment, on_delete=models.CASCADE, related_name="+")
    days = models.SmallIntegerField()
    due_date = models.DateField()
    sent_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instalment", "days", "due_date"], name="billing_reminder_once"),
        ]
