"""Notifications, preferences, deliveries and group-robot channels."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from salesflow.core.models import AuditEvent
from salesflow.notifications.kinds import KIND_CHOICES, Channel


class Notification(models.Model):
    """Something a user should know about, shown in their notification centre.

    ``summary`` is stored in every UI language (``{"en": …, "zh-hans": …}``) like timeline
    summaries. ``dedupe_key`` makes creation idempotent: one notification per recipient and
    key (``event:42``, ``digest:2026-12-02``), however often the job that creates it runs.
    ``in_app`` is false when the user turned the centre off for this kind but another
    channel (email, robot) still delivers it.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    kind = models.CharField(_("type"), max_length=80, choices=KIND_CHOICES)
    event = models.ForeignKey(AuditEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    target_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    target_id = models.BigIntegerField(null=True, blank=True)
    summary = models.JSONField(_("summary"), default=dict)
    url = models.CharField(max_length=300, blank=True)
    dedupe_key = models.CharField(max_length=120)
    in_app = models.BooleanField(default=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "dedupe_key"], name="notification_recipient_dedupe_unique"),
        ]
        indexes = [
            # the centre and the bell: WHERE recipient=? AND in_app [AND read_at IS NULL] ORDER BY created_at DESC
            models.Index(fields=["recipient", "in_app", "read_at", "-created_at"], name="notification_inbox_idx"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        """The summary in the active language (English, then any, as fallbacks)."""
        summary = self.summary if isinstance(self.summary, dict) else {}
        lang = (get_language() or "").lower()
        return str(summary.get(lang) or summary.get("en") or next(iter(summary.values()), ""))


class NotificationPreference(models.Model):
    """A user's choice for one kind on one channel; no row means the default (on)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(_("type"), max_length=80, choices=KIND_CHOICES)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="notificationpreference_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.channel}: {self.enabled}"


class RobotProvider(models.TextChoices):
    WECOM = "wecom", _("WeCom (企业微信)")
    DINGTALK = "dingtalk", _("DingTalk (钉钉)")
    FEISHU = "feishu", _("Feishu (飞书)")


class RobotChannel(models.Model):
    """A group robot (webhook) that receives notifications of chosen kinds.

    ``team`` limits it to notifications of that team's members (empty: the whole company).
    The webhook must be https on a public address unless an administrator allowed the host
    (``allow_host`` here, or ``SALESFLOW_ROBOT_ALLOWED_HOSTS``); checked on save and again
    when sending, against the address actually connected to.
    """

    name = models.CharField(_("name"), max_length=100)
    provider = models.CharField(_("provider"), max_length=10, choices=RobotProvider.choices)
    webhook_url = models.URLField(_("webhook URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("DingTalk “sign” secret (SEC…) or Feishu signature key; leave empty if not enabled."),
    )
    team = models.ForeignKey(
        "users.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
        help_text=_("Only notifications of this team's members; empty for the whole company."),
    )
    kinds = models.JSONField(_("notification types"), default=list, blank=True)
    allow_host = models.BooleanField(
        _("allow this host"),
        default=False,
        help_text=_("Allow http or a private/internal address for this webhook (administrators only)."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("group robot")
        verbose_name_plural = _("group robots")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse a webhook that is not https on a public address (unless the host is allowed)
        and unknown notification types. Sending checks the address again."""
        from salesflow.notifications.kinds import KINDS
        from salesflow.notifications.transports import UnsafeWebhook, resolve_webhook

        errors: dict[str, list[str]] = {}
        if self.webhook_url:
            try:
                resolve_webhook(self.webhook_url, allow_host=self.allow_host)
            except UnsafeWebhook as exc:
                errors["webhook_url"] = [str(exc)]
        kinds = self.kinds if isinstance(self.kinds, list) else None
        if kinds is None or any(kind not in KINDS for kind in kinds):
            errors["kinds"] = [str(_("Choose notification types from the list."))]
        if errors:
            raise ValidationError(errors)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class Delivery(models.Model):
    """One notification sent on one channel (``email`` or ``robot:<id>``).

    The unique (notification, channel) row is what makes sending idempotent: a task claims
    it by a conditional update pending → sending (only one claimant wins), then marks it
    sent, or pending again with a retry scheduled, or failed after the last attempt.
    """

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=40)
    robot = models.ForeignKey(RobotChannel, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_notification_channel_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.notification_id} → {self.channel}: {self.status}"
