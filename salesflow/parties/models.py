"""Customers: accounts (companies) and their contacts."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.models import TimestampedModel
from salesflow.parties.choices import BuyingRole, CompanySize, Grade, Industry, Lifecycle, SourceChannel
from salesflow.users.models import Territory


class Account(TimestampedModel):
    """A customer company (客户). ``credit_code`` (统一社会信用代码) is unique when present."""

    name = models.CharField(_("name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices, blank=True)
    region = models.ForeignKey(
        Territory, on_delete=models.PROTECT, null=True, blank=True, related_name="accounts", verbose_name=_("region")
    )
    size = models.CharField(_("size"), max_length=20, choices=CompanySize.choices, blank=True)
    lifecycle = models.CharField(_("lifecycle"), max_length=20, choices=Lifecycle.choices, default=Lifecycle.PROSPECT)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True)
    # NULL only while the account sits in a public pool (公海, issue 8: ``pools`` releases and
    # recycles it there; a claim gives it an owner again). Forms and the API still require one.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="accounts",
        verbose_name=_("owner"),
    )
    source = models.CharField(_("source"), max_length=20, choices=SourceChannel.choices, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    # ``company_name_key(name)``, written by the services; duplicate detection matches on it.
    name_key = models.CharField(_("name key"), max_length=200, blank=True, editable=False)
    # duplicate check (查重, issue 8): ``core.normalize.party_match_keys``, written by the services
    company_stem = models.CharField(_("company stem"), max_length=200, blank=True, editable=False, db_default="")
    company_pinyin = models.CharField(_("company pinyin"), max_length=200, blank=True, editable=False, db_default="")
    # the company name as the matcher compares it (``core.normalize.company_parts_stored``: the
    # normalised name and its regions; both blank when they were not stored, then the matcher
    # takes the name apart itself), written with the keys above
    company_norm = models.CharField(
        _("normalised company name"), max_length=200, blank=True, editable=False, default="", db_default=""
    )
    company_regions = models.CharField(
        _("company regions"), max_length=200, blank=True, editable=False, default="", db_default=""
    )
    phone_key = models.CharField(_("phone key"), max_length=40, blank=True, editable=False, db_default="")

    # follow-up discipline (跟进, issue 7): kept by ``account_follow_up_refresh`` (called by
    # the activity services and the ``follow_up_recompute`` command), never edited directly.
    # The last done follow-up activity; ``next_follow_up_due`` = its local date (or the
    # account's creation) + the grade's ``FollowUpPolicy.every_days`` (None without a policy).
    last_follow_up_at = models.DateTimeField(_("last follow-up"), null=True, blank=True, editable=False)
    next_follow_up_due = models.DateField(_("next follow-up due"), null=True, blank=True, editable=False)
    # set by the escalation ladder's "mark at risk" step; cleared by the next done follow-up
    at_risk_since = models.DateTimeField(_("at risk since"), null=True, blank=True, editable=False)

    # customer protection (客户保护, issue 8): while this is in the future the owner is protecting
    # the account (after a claim from a public pool); another rep reaching it opens a collision.
    protected_until = models.DateTimeField(_("protected until"), null=True, blank=True, editable=False)

    # data quality (数据质量, issue 8): when and by whom the record was last verified (核实)
    last_verified_at = models.DateTimeField(_("last verified"), null=True, blank=True, editable=False)
    last_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last verified by"),
        editable=False,
    )

    # tags (标签) on this record: salesflow.tags; deleted with the record
    tagged_items = GenericRelation("tags.TaggedItem")

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"], condition=~Q(credit_code=""), name="account_credit_code_unique"
            ),
        ]
        indexes = [
            # list visibility + default sort: WHERE owner_id IN (...) ORDER BY name
            models.Index(fields=["owner", "name"], name="account_owner_name_idx"),
            # list sort by name for admins/managers
            models.Index(fields=["name", "id"], name="account_name_idx"),
            # list sort "recently created"
            models.Index(fields=["created_at"], name="account_created_idx"),
            # list filters
            models.Index(fields=["lifecycle"], name="account_lifecycle_idx"),
            models.Index(fields=["grade"], name="account_grade_idx"),
            models.Index(fields=["industry"], name="account_industry_idx"),
            # duplicate detection: WHERE name_key = %s (accounts and leads by company name)
            models.Index(fields=["name_key"], name="account_name_key_idx"),
            # duplicate check blocking keys (issue 8)
            models.Index(fields=["company_stem"], name="account_company_stem_idx"),
            models.Index(fields=["company_pinyin"], name="account_company_pinyin_idx"),
            models.Index(fields=["phone_key"], name="account_phone_key_idx"),
            # My day "customers due for follow-up": WHERE owner_id = %s AND next_follow_up_due <= today
            models.Index(fields=["owner", "next_follow_up_due"], name="account_owner_follow_due_idx"),
            # list filter "follow-up overdue" and the escalation job: WHERE next_follow_up_due < %s
            models.Index(fields=["next_follow_up_due", "id"], name="account_follow_due_idx"),
            # list filter "at risk": WHERE at_risk_since IS NOT NULL (few rows)
            models.Index(
                fields=["at_risk_since"], name="account_at_risk_idx", condition=Q(at_risk_since__isnull=False)
            ),
            # My day (team): each owner's accounts at risk, longest at risk first
            models.Index(
                fields=["owner", "at_risk_since", "id"],
                name="account_owner_at_risk_idx",
                condition=Q(at_risk_since__isnull=False),
            ),
            # issue 8 (scoring): data-quality counts per owner (stale = not verified since …)
            models.Index(fields=["owner", "last_verified_at"], name="account_owner_verified_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(TimestampedModel):
    """A person at an account, with buying role and the sales archive (销售档案).

    Visibility follows the account: whoever sees the account sees its contacts.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="contacts", verbose_name=_("account"))
    name = models.CharField(pgettext_lazy("person", "name"), max_length=100)
    title = models.CharField(_("position"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    buying_role = models.CharField(
        _("buying role"), max_length=20, choices=BuyingRole.choices, default=BuyingRole.OTHER
    )
    # Stored normalised (``normalize_phone`` / ``normalize_email``) by the services, so the
    # fields are their own duplicate-detection keys (indexed below), as on ``Lead``.
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    # duplicate check (查重, issue 8): ``core.normalize.party_match_keys``, written by the services
    name_pinyin = models.CharField(_("name pinyin"), max_length=200, blank=True, editable=False, db_default="")
    phone_key = models.CharField(_("phone key"), max_length=40, blank=True, editable=False, db_default="")
    # sales archive
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    hobbies = models.CharField(_("hobbies"), max_length=300, blank=True)
    education = models.CharField(_("education"), max_length=300, blank=True)
    achievements = models.TextField(_("achievements"), blank=True)
    places = models.CharField(_("places lived and worked"), max_length=300, blank=True)
    family = models.CharField(_("family"), max_length=300, blank=True)
    cultural_background = models.CharField(_("cultural background"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # data quality (数据质量, issue 8): when and by whom the record was last verified (核实)
    last_verified_at = models.DateTimeField(_("last verified"), null=True, blank=True, editable=False)
    last_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last verified by"),
        editable=False,
    )

    # tags (标签) on this record: salesflow.tags; deleted with the record
    tagged_items = GenericRelation("tags.TaggedItem")

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            # account detail: contacts of an account ordered by name
            models.Index(fields=["account", "name"], name="contact_account_name_idx"),
            # list sort by name
            models.Index(fields=["name", "id"], name="contact_name_idx"),
            # duplicate detection and lead conversion: WHERE email = %s / WHERE mobile = %s
            models.Index(fields=["email"], name="contact_email_idx"),
            models.Index(fields=["mobile"], name="contact_mobile_idx"),
            # duplicate check blocking keys (issue 8)
            models.Index(fields=["name_pinyin"], name="contact_name_pinyin_idx"),
            models.Index(fields=["phone_key"], name="contact_phone_key_idx"),
            # issue 8 (scoring): data-quality counts (stale = not verified since …)
            models.Index(fields=["account", "last_verified_at"], name="contact_account_verified_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class FollowUpPolicy(models.Model):
    """How often an account of a grade (客户分层) must be followed up (沟通频率), as data.

    An account is due ``every_days`` after its last done follow-up and overdue the day
    after; the escalation ladder starts ``grace_days`` after the due date. Grades without a
    policy (and accounts without a grade) have no follow-up due date.
    """

    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, unique=True)
    every_days = models.PositiveSmallIntegerField(_("follow up every (days)"))
    grace_days = models.PositiveSmallIntegerField(_("grace period (days)"), default=0)

    class Meta:
        ordering = ["grade"]
        verbose_name = _("follow-up policy")
        verbose_name_plural = _("follow-up policies")
        constraints = [
            models.CheckConstraint(condition=Q(every_days__gte=1), name="follow_up_policy_every_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.grade}: {self.every_days}"
