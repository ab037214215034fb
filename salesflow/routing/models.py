"""Lead capture and assignment (issue 8): web-to-lead forms (线索表单) and their submissions,
assignment rules (分配规则) with working hours (工作时间), each lead's assignment history
(分配记录), and first-response SLAs (首次响应时限) per source with their clocks."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.models import TimestampedModel
from salesflow.leads.models import Lead
from salesflow.parties.choices import Industry, SourceChannel, SubChannel
from salesflow.users.models import Team, Territory

NAME_LENGTH = 100
CAMPAIGN_LENGTH = 200
MESSAGE_LENGTH = 2000
CONSENT_LENGTH = 2000
URL_LENGTH = 500
ORIGINS_LENGTH = 2000
REASON_LENGTH = 300

#: the lead fields a web-to-lead form may show (in this order); ``name`` is always shown and required
FORM_FIELDS: tuple[str, ...] = ("name", "company_name", "title", "mobile", "phone", "email", "wechat", "need")


def new_form_token() -> str:
    """An unguessable public token (32 url-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


class LeadCaptureForm(TimestampedModel):
    """A public web-to-lead form (线索表单) for one source or campaign, served at
    ``/f/<token>/`` (page and plain HTML POST). Leads it captures are stamped with its source
    channel, sub-channel and campaign and created by the system actor without an owner, so
    the intake checks (known customers, collisions, assignment rules) apply."""

    name = models.CharField(pgettext_lazy("form", "name"), max_length=NAME_LENGTH)
    token = models.CharField(_("public token"), max_length=64, unique=True, default=new_form_token, editable=False)
    source_channel = models.CharField(_("source channel"), max_length=20, choices=SourceChannel.choices)
    sub_channel = models.CharField(_("sub-channel"), max_length=30, choices=SubChannel.choices, blank=True)
    campaign = models.CharField(_("campaign"), max_length=CAMPAIGN_LENGTH, blank=True)
    fields = models.JSONField(_("fields shown"), default=list, blank=True)
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    title = models.CharField(_("page title"), max_length=NAME_LENGTH, blank=True)
    intro = models.TextField(_("introduction"), max_length=MESSAGE_LENGTH, blank=True)
    consent_text = models.TextField(_("consent text"), max_length=CONSENT_LENGTH, blank=True)
    thank_you_message = models.TextField(_("thank-you message"), max_length=MESSAGE_LENGTH, blank=True)
    redirect_url = models.CharField(_("redirect URL"), max_length=URL_LENGTH, blank=True)
    allowed_origins = models.TextField(_("allowed embedding origins"), max_length=ORIGINS_LENGTH, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("web-to-lead form")
        verbose_name_plural = _("web-to-lead forms")

    def __str__(self) -> str:
        return self.name

    @property
    def origins(self) -> list[str]:
        """The allowed embedding origins, one per line (validated by the services)."""
        return [line.strip() for line in self.allowed_origins.splitlines() if line.strip()]


class FormSubmission(models.Model):
    """One accepted submission of a form: the lead it created and, when the form asks for
    consent (同意声明), the exact text the visitor agreed to, when, and from which address."""

    form = models.ForeignKey(LeadCaptureForm, on_delete=models.CASCADE, related_name="submissions")
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="form_submissions")
    consent_text = models.TextField(_("consent text"), blank=True)
    consented_at = models.DateTimeField(_("consented at"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")
        indexes = [
            # the settings page: a form's latest submissions / counts
            models.Index(fields=["form", "submitted_at"], name="routing_sub_form_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} → {self.lead_id}"


class Strategy(models.TextChoices):
    USER = "user", _("A specific user")
    ROUND_ROBIN = "round_robin", _("Round-robin")
    LOAD_BALANCED = "load_balanced", _("Load-balanced")


class HistoryStrategy(models.TextChoices):
    """How an owner came to a lead, as its assignment history shows it."""

    USER = "user", _("A specific user")
    ROUND_ROBIN = "round_robin", _("Round-robin")
    LOAD_BALANCED = "load_balanced", _("Load-balanced")
    MANUAL = "manual", _("By hand")
    ROUTED = "routed", _("Routed on intake")


class AssignmentRule(TimestampedModel):
    """An assignment rule (分配规则), evaluated in ``position`` order for every lead that
    comes in without an owner. Empty conditions match everything; a rule whose candidates
    are all off duty or at capacity is skipped (the next rule is tried)."""

    name = models.CharField(pgettext_lazy("rule", "name"), max_length=NAME_LENGTH)
    position = models.PositiveIntegerField(pgettext_lazy("ordering", "position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    # conditions
    territory = models.ForeignKey(
        Territory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("territory (with its sub-regions)"),
    )
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices, blank=True)
    source_channel = models.CharField(_("source channel"), max_length=20, choices=SourceChannel.choices, blank=True)
    campaign_contains = models.CharField(_("campaign contains"), max_length=CAMPAIGN_LENGTH, blank=True)
    # strategy
    strategy = models.CharField(_("strategy"), max_length=20, choices=Strategy.choices, default=Strategy.ROUND_ROBIN)
    # SET_NULL: removing a user or team leaves the rule without candidates (it is then skipped)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("users"))
    capacity = models.PositiveIntegerField(_("capacity (open leads per rep)"), null=True, blank=True)
    respect_working_hours = models.BooleanField(_("respect working hours"), default=False)
    # round-robin state: the user who got the last lead (advanced under this row's lock)
    last_user_id = models.IntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        indexes = [models.Index(fields=["is_active", "position"], name="routing_rule_active_pos_idx")]

    def __str__(self) -> str:
        return self.name


class Weekdays(models.TextChoices):
    MON = "1", _("Monday")
    TUE = "2", _("Tuesday")
    WED = "3", _("Wednesday")
    THU = "4", _("Thursday")
    FRI = "5", _("Friday")
    SAT = "6", _("Saturday")
    SUN = "7", _("Sunday")


class WorkingHours(models.Model):
    """Working hours (工作时间) in the project time zone: on ``weekdays`` (ISO numbers
    ``"12345"``) from ``start`` to ``end``. A row belongs to a user (their own hours) or to
    a rule (the hours of everyone the rule assigns to who has none of their own)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="working_hours",
        verbose_name=_("user"),
    )
    rule = models.ForeignKey(
        AssignmentRule,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="working_hours",
        verbose_name=_("assignment rule"),
    )
    weekdays = models.CharField(_("weekdays"), max_length=7, default="12345")
    start = models.TimeField(_("from"))
    end = models.TimeField(_("to"))

    class Meta:
        ordering = ["user", "rule", "id"]
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False) & models.Q(rule__isnull=True))
                | (models.Q(user__isnull=True) & models.Q(rule__isnull=False)),
                name="routing_hours_user_xor_rule",
            )
        ]

    def __str__(self) -> str:
        return f"{self.weekdays} {self.start:%H:%M}–{self.end:%H:%M}"

    @property
    def weekday_labels(self) -> str:
        """The weekdays by name, in the reader's language."""
        labels = dict(Weekdays.choices)
        return ", ".join(str(labels[day]) for day in self.weekdays if day in labels)


class LeadAssignment(models.Model):
    """One line of a lead's assignment history (分配记录): who became the owner, how (rule
    and strategy, or by hand), when, by whom and why."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="assignments")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    previous_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rule = models.ForeignKey(AssignmentRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rule_name = models.CharField(max_length=NAME_LENGTH, blank=True)
    strategy = models.CharField(_("strategy"), max_length=20, choices=HistoryStrategy.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reason = models.CharField(_("reason"), max_length=REASON_LENGTH, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("assignment history")
        verbose_name_plural = _("assignment history")
        indexes = [models.Index(fields=["lead", "at"], name="routing_assign_lead_idx")]

    def __str__(self) -> str:
        return f"{self.lead_id} → {self.owner_id}"


class FirstResponseSla(TimestampedModel):
    """A first-response SLA (首次响应时限): a lead from ``source_channel`` (and
    ``sub_channel`` when given; the more specific SLA wins) must get its first response
    within ``minutes`` of being assigned, or the owner's manager is told."""

    source_channel = models.CharField(_("source channel"), max_length=20, choices=SourceChannel.choices)
    sub_channel = models.CharField(_("sub-channel"), max_length=30, choices=SubChannel.choices, blank=True)
    minutes = models.PositiveIntegerField(_("minutes"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["source_channel", "sub_channel"]
        verbose_name = _("first-response SLA")
        verbose_name_plural = _("first-response SLAs")
        constraints = [
            models.UniqueConstraint(fields=["source_channel", "sub_channel"], name="routing_sla_source_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source_channel}/{self.sub_channel or '*'}: {self.minutes}"


class SlaClock(models.Model):
    """The first-response clock of one assigned lead: due at ``due_at``; ``responded_at`` once
    the lead had a done activity or left "new"; ``escalated_at`` once the manager was told
    (at most once per lead). A new assignment restarts an unescalated clock."""

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="sla_clock")
    sla = models.ForeignKey(FirstResponseSla, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("first-response clock")
        verbose_name_plural = _("first-response clocks")
        indexes = [
            # the SLA job: WHERE responded_at IS NULL AND escalated_at IS NULL AND due_at <= now ORDER BY id
            models.Index(
                fields=["due_at", "id"],
                name="routing_clock_open_due_idx",
                condition=models.Q(responded_at__isnull=True, escalated_at__isnull=True),
            ),
            # the lead list's "SLA missed" filter
            models.Index(fields=["escalated_at"], name="routing_clock_escalated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.due_at}"
