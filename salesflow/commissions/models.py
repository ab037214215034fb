"""Commissions (提成, issue 10): rules as data and statements per rep and period.

- ``CommissionPlan`` (提成方案): the rules valid over a date range (usually a fiscal year).
  Active plans never overlap, so every day has at most one plan.
- ``CommissionRule`` (提成规则): a base rate (``PercentField``) of a *basis* — the won amount
  of deals (by ``closed_on``) or the collected amount of payments (by ``received_on``) — for
  a role (blank: every role) and, for won rules, a product line (blank: the whole deal).
- ``CommissionTier`` (加速档): above ``threshold_bp`` of attainment the rate is multiplied by
  ``multiplier_milli``/1000. Thresholds are integer basis points of attainment (10000 =
  100 %), multipliers integer thousandths (1500 = 1.5×): exact, no float anywhere.
- ``CommissionStatement`` (提成结算单): per rep, per month or quarter, with its
  ``StatementLine`` rows (one per deal or payment and bracket). Draft → submitted → approved
  → locked; a locked statement never changes: a correction is a new statement
  (``sequence`` + 1, ``corrects``) that reverses the locked lines and adds the new ones.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from salesflow.billing.models import Payment
from salesflow.catalogue.models import ProductCategory
from salesflow.commissions.choices import Basis, LineKind, RunStatus, StatementStatus
from salesflow.core.models import TimestampedModel
from salesflow.core.money import MoneyField
from salesflow.core.quantities import PercentField
from salesflow.sales.models import Opportunity
from salesflow.users.choices import Role

NAME_LENGTH = 100
NOTES_LENGTH = 2000
#: thresholds up to 1000 % attainment, multipliers up to 10×
MAX_THRESHOLD_BP = 100_000
MAX_MULTIPLIER_MILLI = 10_000
MAX_TIERS = 10


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class CommissionPlan(TimestampedModel):
    """Rules valid from ``valid_from`` to ``valid_to`` (inclusive)."""

    name = models.CharField(_("name"), max_length=NAME_LENGTH)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    active = models.BooleanField(_("active"), default=True)
    notes = models.TextField(_("notes"), max_length=NOTES_LENGTH, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-valid_from", "id"]
        verbose_name = _("commission plan")
        verbose_name_plural = _("commission plans")
        constraints = [models.CheckConstraint(condition=Q(valid_to__gte=F("valid_from")), name="comm_plan_range")]
        # statement_generate: the active plan covering a period
        indexes = [models.Index(fields=["active", "valid_from"], name="comm_plan_active_from")]

    def __str__(self) -> str:
        return self.name


class CommissionRule(TimestampedModel):
    """``rate`` % of the basis, for ``role`` ('' = every role) and ``product_line`` (won only)."""

    plan = models.ForeignKey(CommissionPlan, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(_("name"), max_length=NAME_LENGTH)
    basis = models.CharField(_("basis"), max_length=10, choices=Basis.choices)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    product_line = models.ForeignKey(
        ProductCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product line"),
    )
    rate = PercentField(_("base rate (%)"))

    class Meta:
        ordering = ["basis", "product_line_id", "role", "id"]
        verbose_name = _("commission rule")
        verbose_name_plural = _("commission rules")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "basis", "role"],
                condition=Q(product_line__isnull=True),
                name="comm_rule_unique_general",
            ),
            models.UniqueConstraint(
                fields=["plan", "basis", "role", "product_line"],
                condition=Q(product_line__isnull=False),
                name="comm_rule_unique_line",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CommissionTier(models.Model):
    """Above ``threshold_bp`` basis points of attainment the rate is × ``multiplier_milli``/1000."""

    rule = models.ForeignKey(CommissionRule, on_delete=models.CASCADE, related_name="tiers")
    threshold_bp = models.PositiveIntegerField(_("attainment threshold (basis points)"))
    multiplier_milli = models.PositiveIntegerField(_("rate multiplier (thousandths)"))

    class Meta:
        ordering = ["threshold_bp"]
        constraints = [models.UniqueConstraint(fields=["rule", "threshold_bp"], name="comm_tier_unique")]

    @property
    def threshold(self) -> Decimal:
        """Attainment in percent (``Decimal('100.00')``)."""
        return Decimal(self.threshold_bp).scaleb(-2)

    @property
    def multiplier(self) -> Decimal:
        return Decimal(self.multiplier_milli).scaleb(-3)

    @property
    def multiplier_text(self) -> str:
        """``1.2``, ``1.5``, ``2`` (no trailing zeros)."""
        return _plain(self.multiplier)

    @property
    def threshold_text(self) -> str:
        return _plain(Decimal(self.threshold_bp).scaleb(-2))


class CommissionStatement(TimestampedModel):
    """A rep's commission for one month or quarter, in the company currency."""

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commission_statements", verbose_name=_("rep")
    )
    period_key = models.CharField(_("period"), max_length=10)
    period_start = models.DateField()
    period_end = models.DateField()
    sequence = models.PositiveSmallIntegerField(_("sequence"), default=1)
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections", verbose_name=_("corrects")
    )
    plan = models.ForeignKey(CommissionPlan, on_delete=models.PROTECT, related_name="statements")
    status = models.CharField(
        _("status"), max_length=10, choices=StatementStatus.choices, default=StatementStatus.DRAFT
    )
    currency = models.CharField(_("currency"), max_length=3)
    basis_total = MoneyField(_("basis"), default=Decimal("0.00"))
    commission_total = MoneyField(_("commission"), default=Decimal("0.00"))
    #: {metric_key: {"target", "actual", "ratio"}} as decimal strings (null when no target)
    attainment = models.JSONField(default=dict, blank=True)
    #: currencies left out for want of a rate
    missing_rates = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    locked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "rep_id", "-sequence"]
        verbose_name = _("commission statement")
        verbose_name_plural = _("commission statements")
        constraints = [
            models.UniqueConstraint(fields=["rep", "period_key", "sequence"], name="comm_statement_unique"),
        ]
        indexes = [
            # statement_list: statements of the visible reps, newest period first
            models.Index(fields=["rep", "-period_start"], name="comm_stmt_rep_period"),
            # statement_list: everyone's statements (administrators), by period and status
            models.Index(fields=["-period_start", "status"], name="comm_stmt_period_status"),
        ]

    def __str__(self) -> str:
        return f"{self.rep} {self.period_key}" + (f" #{self.sequence}" if self.sequence > 1 else "")


class StatementLine(models.Model):
    """One deal (or payment) in one bracket: ``basis`` × ``rate`` × ``multiplier`` = ``commission``.

    ``source_amount``/``source_currency`` are the whole deal's (or payment's) amount as
    recorded; ``basis`` the part this line pays on, in the company currency at the rate of
    ``day``. Reversal lines (corrections) carry the negated figures of the line they reverse.
    """

    statement = models.ForeignKey(CommissionStatement, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(_("type"), max_length=10, choices=LineKind.choices)
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("deal")
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("payment")
    )
    reference = models.CharField(_("deal or payment"), max_length=200)
    day = models.DateField(_("date"))
    rule = models.ForeignKey(CommissionRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rule_name = models.CharField(_("commission rule"), max_length=NAME_LENGTH)
    product_line = models.ForeignKey(
        ProductCategory, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source_amount = MoneyField(_("amount"))
    source_currency = models.CharField(_("currency"), max_length=3)
    basis = MoneyField(_("basis"))
    rate = PercentField(_("base rate (%)"))
    multiplier_milli = models.PositiveIntegerField(default=1000)
    #: the bracket: attainment above this many basis points (0 = the base bracket)
    threshold_bp = models.PositiveIntegerField(default=0)
    commission = MoneyField(_("commission"))

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["statement", "position"], name="comm_line_statement")]

    @property
    def multiplier(self) -> Decimal:
        return Decimal(self.multiplier_milli).scaleb(-3)

    @property
    def multiplier_text(self) -> str:
        """``1.2``, ``1.5``, ``2`` (no trailing zeros)."""
        return _plain(self.multiplier)

    @property
    def threshold_text(self) -> str:
        return _plain(Decimal(self.threshold_bp).scaleb(-2))

    @property
    def threshold(self) -> Decimal:
        return Decimal(self.threshold_bp).scaleb(-2)

    @property
    def effective_rate(self) -> Decimal:
        """The rate applied, in percent (base × multiplier), exact."""
        return Decimal(self.rate) * self.multiplier


class ComputeRun(TimestampedModel):
    """ "Compute for everyone I manage" (or the monthly job): the draft statements of many
    people for one period, computed by a background task with progress for the page
    (``commissions.tasks.compute_statements``). ``requested_by`` is the actor every statement
    is made as; ``None`` is the system actor (the monthly job)."""

    period_key = models.CharField(_("period"), max_length=10)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    total = models.PositiveIntegerField(_("people to compute"), default=0)
    done = models.PositiveIntegerField(_("people computed"), default=0)
    made = models.PositiveIntegerField(_("statements computed"), default=0)
    #: the first few people who could not be computed, "name: reason"
    failures = models.JSONField(_("failures"), default=list, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("statement computation")
        verbose_name_plural = _("statement computations")
        indexes = [
            # latest_compute_run: the requester's newest run
            models.Index(fields=["requested_by", "-created_at"], name="comm_run_requester"),
        ]

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)
