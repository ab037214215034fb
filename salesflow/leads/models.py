"""Leads (线索): unqualified interest, qualified with BANT and converted into deals."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.models import TimestampedModel, TranslatedNameModel
from salesflow.core.money import MoneyField, default_currency
from salesflow.leads.choices import BantAnswer, LeadStage, LeadStatus
from salesflow.parties.choices import Industry, SourceChannel, SubChannel
from salesflow.parties.models import Account, Contact
from salesflow.sales.models import Opportunity
from salesflow.users.models import Territory


class DisqualifyReason(TranslatedNameModel, TimestampedModel):
    """Why a lead was disqualified (configuration data)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(pgettext_lazy("ordering", "position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("disqualify reason")
        verbose_name_plural = _("disqualify reasons")


class Lead(TimestampedModel):
    """A person and company showing interest. ``status`` moves new → contacted → qualified →
    converted (or disqualified); a converted lead points at what it became."""

    # person; mobile and email are stored normalised (``normalize_phone`` / ``normalize_email``)
    # by the services, so they are their own duplicate-detection keys (indexed below).
    name = models.CharField(pgettext_lazy("person", "name"), max_length=100)
    title = models.CharField(_("position"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    # company
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    # ``company_name_key(company_name)``, written by the services; matches ``Account.name_key``.
    company_key = models.CharField(_("company key"), max_length=200, blank=True, editable=False)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    # duplicate check (查重, issue 8): ``core.normalize.party_match_keys``, written by the services
    company_stem = models.CharField(_("company stem"), max_length=200, blank=True, editable=False)
    company_pinyin = models.CharField(_("company pinyin"), max_length=200, blank=True, editable=False)
    # the company name as the matcher compares it (``core.normalize.company_parts_stored``: the
    # normalised name and its regions; both blank when they were not stored, then the matcher
    # takes the name apart itself), written with the keys above
    company_norm = models.CharField(
        _("normalised company name"), max_length=200, blank=True, editable=False, default="", db_default=""
    )
    company_regions = models.CharField(
        _("company regions"), max_length=200, blank=True, editable=False, default="", db_default=""
    )
    name_pinyin = models.CharField(_("name pinyin"), max_length=200, blank=True, editable=False)
    phone_key = models.CharField(_("phone key"), max_length=40, blank=True, editable=False)
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices, blank=True)
    region = models.ForeignKey(
        Territory, on_delete=models.PROTECT, null=True, blank=True, related_name="leads", verbose_name=_("region")
    )
    # source
    source_channel = models.CharField(_("source channel"), max_length=20, choices=SourceChannel.choices)
    sub_channel = models.CharField(_("sub-channel"), max_length=30, choices=SubChannel.choices, blank=True)
    campaign = models.CharField(_("campaign"), max_length=200, blank=True)
    # BANT
    budget_status = models.CharField(
        _("budget confirmed"), max_length=10, choices=BantAnswer.choices, default=BantAnswer.UNKNOWN
    )
    # Exact hundredths in the database (see salesflow.core.money); a Decimal here.
    budget_amount = MoneyField(_("budget"), null=True, blank=True)
    budget_currency = models.CharField(_("budget currency"), max_length=3, default=default_currency)
    authority_status = models.CharField(
        _("talking to decision maker"), max_length=10, choices=BantAnswer.choices, default=BantAnswer.UNKNOWN
    )
    need = models.TextField(_("need"), blank=True)
    timeline = models.DateField(_("purchase timeline"), null=True, blank=True)
    # evidence notes (佐证说明, issue 8): how each BANT answer is known (the need is its own text)
    budget_evidence = models.CharField(_("budget evidence"), max_length=500, blank=True)
    authority_evidence = models.CharField(_("decision-maker evidence"), max_length=500, blank=True)
    timeline_evidence = models.CharField(_("timeline evidence"), max_length=500, blank=True)
    # workflow
    status = models.CharField(_("status"), max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("owner"),
    )
    disqualify_reason = models.ForeignKey(
        DisqualifyReason,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("disqualify reason"),
    )
    disqualify_note = models.TextField(_("disqualify note"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    # MQL → SQL hand-off (移交, issue 8): marketing works the lead until someone hands it to sales
    stage = models.CharField(_("stage"), max_length=3, choices=LeadStage.choices, default=LeadStage.MQL)
    handed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handed off by"),
        editable=False,
    )
    handed_off_at = models.DateTimeField(_("handed off at"), null=True, blank=True, editable=False)
    hand_off_note = models.CharField(_("hand-off note"), max_length=500, blank=True, editable=False)
    # lead score (线索评分, issue 8): the rule score's total, mirrored here by salesflow.scoring
    # so the list can sort by it; the explanation lives in scoring.LeadScore.
    score = models.IntegerField(_("lead score"), default=0, editable=False)
    # data quality (数据质量, issue 8): when and by whom the record was last verified
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
    # customer protection (客户保护, issue 8): while this is in the future the owner is protecting
    # the lead (after a claim from a public pool); another rep reaching it opens a collision.
    protected_until = models.DateTimeField(_("protected until"), null=True, blank=True, editable=False)
    converted_account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("account")
    )
    converted_contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("contact")
    )
    converted_opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="source_leads",
        verbose_name=_("opportunity"),
    )

    # tags (标签) on this record: salesflow.tags; deleted with the record
    tagged_items = GenericRelation("tags.TaggedItem")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            # list for a rep: WHERE owner_id IN (...) ORDER BY created_at DESC
            # (+ status: funnel math's lead outcomes per owner read the index alone)
            models.Index(fields=["owner", "created_at", "status"], name="lead_owner_created_idx"),
            # list filter by status (+ default sort); + owner: funnel math's company-wide lead
            # outcomes (WHERE status IN (…) AND created_at in a year GROUP BY owner, status)
            # read the index alone — 1.6 s of table reads at bench scale 1.0 before
            models.Index(fields=["status", "created_at", "owner"], name="lead_status_created_idx"),
            models.Index(fields=["created_at", "id"], name="lead_created_idx"),
            models.Index(fields=["name", "id"], name="lead_name_idx"),
            models.Index(fields=["company_name"], name="lead_company_idx"),
            models.Index(fields=["source_channel"], name="lead_channel_idx"),
            # duplicate detection: WHERE mobile = %s / email = %s / company_key = %s
            models.Index(fields=["mobile"], name="lead_mobile_idx"),
            models.Index(fields=["email"], name="lead_email_idx"),
            models.Index(fields=["company_key"], name="lead_company_key_idx"),
            # the account page's leads panel: WHERE credit_code = %s (leads of the same company)
            models.Index(fields=["credit_code"], name="lead_credit_code_idx"),
            # duplicate check blocking keys (issue 8)
            models.Index(fields=["company_stem"], name="lead_company_stem_idx"),
            models.Index(fields=["company_pinyin"], name="lead_company_pinyin_idx"),
            models.Index(fields=["name_pinyin"], name="lead_name_pinyin_idx"),
            models.Index(fields=["phone_key"], name="lead_phone_key_idx"),
            # account visibility, access follows the work (users.policy.work_links_q):
            # EXISTS (lead WHERE converted_account_id = account.id AND owner_id IN (…)), index only
            models.Index(fields=["converted_account", "owner"], name="lead_conv_account_owner_idx"),
            # issue 8 (scoring): list sort by score, MQL/SQL filter, data-quality counts per owner
            models.Index(fields=["score", "id"], name="lead_score_idx"),
            models.Index(fields=["stage", "created_at"], name="lead_stage_created_idx"),
            models.Index(fields=["owner", "last_verified_at"], name="lead_owner_verified_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} · {self.company_name}" if self.company_name else self.name

    @property
    def bant_missing(self) -> list[str]:
        """Names of BANT elements still unknown (empty when the lead is fully qualified)."""
        missing = []
        if self.budget_status == BantAnswer.UNKNOWN:
            missing.append(str(_("budget")))
        if self.authority_status == BantAnswer.UNKNOWN:
            missing.append(str(_("authority")))
        if not self.need.strip():
            missing.append(str(_("need")))
        if self.timeline is None:
            missing.append(str(_("timeline")))
        return missing
