"""Sales plans (销售计划) and their targets (issue 10).

- ``SalesPlan``: one per fiscal year (``core.periods`` year key).
- ``PlanVersion``: the plan's versions, numbered from 1. Exactly one version may be open
  (draft or submitted) at a time; ``draft`` is edited, ``submitted`` waits for approval
  (the approval engine's request, or a manager approval in this app), ``locked`` was
  approved and never changes again. A revision copies the latest locked version into a new
  draft; earlier versions stay readable. The version carries the strategy notes (product,
  price, channel, promotion) and the seasonality weights.
- ``Target``: one goal value of a version for (metric, node, period). ``metric_key`` is a
  plannable metric of the registry or ``units:<product line code>``; ``node_key`` is
  ``company`` / ``team:<id>`` / ``rep:<id>`` (the target attaches to the node: a rep who
  changes team keeps their targets, the team keeps its own); ``period_key`` a
  ``core.periods`` key. ``value`` is exact: a ``MoneyField`` (hundredths) for money metrics;
  counts are stored the same way but always whole (the services refuse fractions).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from salesflow.core.models import TimestampedModel
from salesflow.core.money import MoneyField

NOTE_LENGTH = 4000
KEY_LENGTH = 40
_USER = settings.AUTH_USER_MODEL


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Under approval")
    LOCKED = "locked", _("Approved and locked")


class SalesPlan(TimestampedModel):
    year = models.PositiveSmallIntegerField(_("fiscal year"), unique=True)
    created_by = models.ForeignKey(
        _USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        ordering = ["-year"]
        verbose_name = _("sales plan")
        verbose_name_plural = _("sales plans")

    def __str__(self) -> str:
        return str(_("Sales plan %(year)s") % {"year": self.year})


class PlanVersion(TimestampedModel):
    plan = models.ForeignKey(SalesPlan, on_delete=models.CASCADE, related_name="versions", verbose_name=_("sales plan"))
    number = models.PositiveSmallIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    product_strategy = models.TextField(_("product strategy"), max_length=NOTE_LENGTH, blank=True)
    price_strategy = models.TextField(_("price strategy"), max_length=NOTE_LENGTH, blank=True)
    channel_strategy = models.TextField(_("channel strategy"), max_length=NOTE_LENGTH, blank=True)
    promotion_strategy = models.TextField(_("promotion strategy"), max_length=NOTE_LENGTH, blank=True)
    #: {node_key: [12 integer weights, fiscal month order]} — ``company`` is the default
    seasonality = models.JSONField(_("seasonality"), default=dict, blank=True)
    seasonality_source = models.CharField(_("seasonality source"), max_length=12, blank=True)
    created_by = models.ForeignKey(
        _USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )
    submitted_by = models.ForeignKey(
        _USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("submitted by")
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    #: the approval engine's pending request; ``None`` while a manager approval is awaited here
    approval_request_id = models.PositiveIntegerField(_("approval request"), null=True, blank=True)
    approved_by = models.ForeignKey(
        _USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("approved by")
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)

    class Meta:
        ordering = ["plan", "-number"]
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="targets_version_number"),
            models.UniqueConstraint(fields=["plan"], condition=~Q(status="locked"), name="targets_version_one_open"),
        ]
        indexes = [
            # target_of: the latest locked version of a year's plan
            models.Index(fields=["plan", "status", "number"], name="targets_version_status"),
        ]

    def __str__(self) -> str:
        return str(_("%(plan)s, version %(number)s") % {"plan": self.plan, "number": self.number})

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


class Target(models.Model):
    version = models.ForeignKey(
        PlanVersion, on_delete=models.CASCADE, related_name="targets", verbose_name=_("version")
    )
    metric_key = models.CharField(_("metric"), max_length=KEY_LENGTH)
    node_key = models.CharField(_("team or person"), max_length=KEY_LENGTH)
    period_key = models.CharField(_("period"), max_length=KEY_LENGTH)
    value = MoneyField(_("target"))

    class Meta:
        ordering = ["version", "metric_key", "node_key", "period_key"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.UniqueConstraint(
                fields=["version", "metric_key", "node_key", "period_key"], name="targets_target_unique"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="targets_target_not_negative"),
        ]
        # the unique constraint's index serves every read: (version, metric) prefix

    def __str__(self) -> str:
        return f"{self.metric_key} {self.node_key} {self.period_key} = {self.value}"
