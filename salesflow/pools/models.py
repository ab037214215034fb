"""Public pools (公海): named pools of unowned leads and accounts, who may take them (member
teams), how many each person may hold (ownership caps, 保有量上限) and when held records go
back (recycle rules, 回收规则).

A record sits in at most one pool: the membership rows (:class:`PoolLead`,
:class:`PoolAccount`) are one-to-one with the record, because the record apps sit below this
one and cannot name a pool. While a record is in a pool it has no owner; a claim gives it
one and deletes the membership row, a release or a recycle clears the owner and adds it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.models import TimestampedModel
from salesflow.leads.models import Lead
from salesflow.parties.choices import Grade
from salesflow.parties.models import Account
from salesflow.pools.choices import RecordKind
from salesflow.users.choices import Role
from salesflow.users.models import Team

NAME_LENGTH = 100
DESCRIPTION_LENGTH = 2000
REASON_LENGTH = 500
MAX_DAYS = 3650
MAX_CAP = 1_000_000


class Pool(TimestampedModel):
    """A named public pool (公海池). Users whose team (or, for a manager, a team they
    manage) is a member see its records and may claim them; ``holds_leads`` and
    ``holds_accounts`` say which record kinds it takes; a claim protects the record for
    ``protection_days``."""

    name = models.CharField(_("name"), max_length=NAME_LENGTH, unique=True)
    description = models.TextField(_("description"), max_length=DESCRIPTION_LENGTH, blank=True)
    active = models.BooleanField(_("active"), default=True)
    teams = models.ManyToManyField(Team, related_name="pools", blank=True, verbose_name=_("member teams"))
    holds_leads = models.BooleanField(_("holds leads"), default=True)
    holds_accounts = models.BooleanField(_("holds accounts"), default=True)
    protection_days = models.PositiveIntegerField(_("protection period (days)"), default=30)
    position = models.PositiveIntegerField(pgettext_lazy("ordering", "position"), default=0)

    class Meta:
        ordering = ["position", "name", "id"]
        verbose_name = _("public pool")
        verbose_name_plural = _("public pools")

    def __str__(self) -> str:
        return self.name

    def holds(self, kind: str) -> bool:
        return self.holds_leads if kind == RecordKind.LEAD else self.holds_accounts


class PoolEntry(models.Model):
    """A record's place in a pool: when it entered, who released it and why (for a recycle,
    the rule)."""

    entered_at = models.DateTimeField(_("entered at"), default=timezone.now)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("released by"),
    )
    reason = models.CharField(_("reason"), max_length=REASON_LENGTH, blank=True)
    rule = models.ForeignKey(
        "pools.RecycleRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recycle rule"),
    )

    class Meta:
        abstract = True


class PoolLead(PoolEntry):
    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="pool_entry", verbose_name=_("lead"))
    pool = models.ForeignKey(Pool, on_delete=models.PROTECT, related_name="lead_entries", verbose_name=_("pool"))

    class Meta:
        verbose_name = _("lead in a pool")
        verbose_name_plural = _("leads in pools")
        indexes = [
            # the pool page: WHERE pool_id = %s ORDER BY entered_at DESC, id DESC
            models.Index(fields=["pool", "-entered_at", "-id"], name="poollead_pool_entered_idx"),
        ]


class PoolAccount(PoolEntry):
    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, related_name="pool_entry", verbose_name=_("account")
    )
    pool = models.ForeignKey(Pool, on_delete=models.PROTECT, related_name="account_entries", verbose_name=_("pool"))

    class Meta:
        verbose_name = _("account in a pool")
        verbose_name_plural = _("accounts in pools")
        indexes = [
            models.Index(fields=["pool", "-entered_at", "-id"], name="poolaccount_pool_entered_idx"),
        ]


class CapRule(TimestampedModel):
    """An ownership cap (保有量上限): a role's or one user's maximum of held leads or accounts,
    optionally of one customer grade (accounts only). A user's own rule for a kind and
    grade replaces their role's."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("record type"), max_length=10, choices=RecordKind.choices)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True)
    max_count = models.PositiveIntegerField(_("maximum held"))

    class Meta:
        ordering = ["kind", "grade", "role", "user_id", "id"]
        verbose_name = _("ownership cap")
        verbose_name_plural = _("ownership caps")
        constraints = [
            models.CheckConstraint(
                condition=(Q(role="") & Q(user__isnull=False)) | (~Q(role="") & Q(user__isnull=True)),
                name="caprule_role_xor_user",
            ),
            models.UniqueConstraint(
                fields=["role", "kind", "grade"], condition=Q(user__isnull=True), name="caprule_role_unique"
            ),
            models.UniqueConstraint(
                fields=["user", "kind", "grade"], condition=Q(user__isnull=False), name="caprule_user_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.get_role_display()} {self.kind} {self.grade or '*'} ≤ {self.max_count}"


class RecycleRule(TimestampedModel):
    """A recycle rule (回收规则): held records of ``kind`` (and ``grade``, accounts) with no
    follow-up in ``no_follow_up_days`` — and, for accounts, when ``no_opportunity_days`` is
    set, no open deal and none created in that many days — go back to ``target_pool``. The
    owner is warned ``warn_days_before`` days ahead. Records still protected are skipped.

    ``product_line`` (accounts only) limits the rule to accounts with a deal that has a line
    of that product line, and ``no_opportunity_days`` then counts only such deals."""

    name = models.CharField(_("name"), max_length=NAME_LENGTH)
    kind = models.CharField(_("record type"), max_length=10, choices=RecordKind.choices)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True)
    no_follow_up_days = models.PositiveIntegerField(_("no follow-up for (days)"))
    no_opportunity_days = models.PositiveIntegerField(_("no opportunity for (days)"), null=True, blank=True)
    target_pool = models.ForeignKey(
        Pool, on_delete=models.PROTECT, related_name="recycle_rules", verbose_name=_("target pool")
    )
    warn_days_before = models.PositiveIntegerField(_("warn the owner (days before)"), default=3)
    active = models.BooleanField(_("active"), default=True)
    product_line = models.ForeignKey(
        "catalogue.ProductCategory",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product line"),
    )

    class Meta:
        ordering = ["kind", "grade", "id"]
        verbose_name = _("recycle rule")
        verbose_name_plural = _("recycle rules")

    def __str__(self) -> str:
        return self.name


class RecycleWarning(models.Model):
    """One warning sent to an owner that a rule will recycle their record on ``due_on`` (so
    the job warns once per record, owner and due date however often it runs)."""

    rule = models.ForeignKey(RecycleRule, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=RecordKind.choices)
    record_id = models.BigIntegerField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    due_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "kind", "record_id", "owner", "due_on"], name="recyclewarning_once"
            ),
        ]
