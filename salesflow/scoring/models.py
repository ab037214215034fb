"""Lead scoring (线索评分) and data quality (数据质量), issue 8.

- ``ScoreRule``: the points a lead earns for a fit, engagement or BANT attribute (data).
- ``LeadScore``: a lead's computed rule score with every rule's contribution (the
  explanation); its total is mirrored on ``Lead.score`` for sorting the lead list.
- ``RecomputeRun``: a full recompute after a rule edit, with progress.
- ``LearnedModel``: an optional trained model (预测模型) with its honest hold-out metrics.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.models import TimestampedModel
from salesflow.leads.models import Lead
from salesflow.scoring.choices import RuleAttribute, RuleCategory, RuleOperator, RunStatus


class ScoreRule(TimestampedModel):
    """``points`` when the lead's ``attribute`` matches ``operator``/``value``.

    ``value`` holds a code (``eq``), comma-separated codes or words (``in``, ``contains``)
    or a whole number (``gte``/``lte``); ``window_days`` is the look-back of ``activities``.
    Checked by ``scoring.services.rule_save``; evaluated by ``scoring.engine``.
    """

    label = models.CharField(_("label"), max_length=100)
    category = models.CharField(_("category"), max_length=20, choices=RuleCategory.choices)
    attribute = models.CharField(_("attribute"), max_length=30, choices=RuleAttribute.choices)
    operator = models.CharField(_("operator"), max_length=10, choices=RuleOperator.choices)
    value = models.CharField(_("value"), max_length=300)
    window_days = models.PositiveSmallIntegerField(_("look-back (days)"), default=30)
    points = models.SmallIntegerField(_("points"))
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(pgettext_lazy("ordering", "position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("score rule")
        verbose_name_plural = _("score rules")

    def __str__(self) -> str:
        return self.label


class LeadScore(models.Model):
    """A lead's rule score: ``total`` = the sum of ``contributions`` (one per active rule:
    ``{"rule": id, "label": str, "category": str, "points": int, "matched": bool}``).
    ``inputs_hash`` fingerprints the features and rules it was computed from."""

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="score_row", verbose_name=_("lead"))
    total = models.IntegerField(_("total"), default=0)
    contributions = models.JSONField(_("contributions"), default=list)
    computed_at = models.DateTimeField(_("computed at"))
    inputs_hash = models.CharField(_("inputs hash"), max_length=64)

    class Meta:
        verbose_name = _("lead score")
        verbose_name_plural = _("lead scores")
        indexes = [models.Index(fields=["computed_at"], name="leadscore_computed_idx")]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.total}"


class RecomputeRun(TimestampedModel):
    """A recompute of every lead's score (after a rule edit), with progress for the page."""

    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    total = models.PositiveIntegerField(_("total"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("score recompute")
        verbose_name_plural = _("score recomputes")

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)


class LearnedModel(models.Model):
    """A trained model (预测模型) and its hold-out metrics. ``shown`` only when it beats the
    base rate (ROC-AUC above the threshold and a Brier score below the base rate's)."""

    trained_at = models.DateTimeField(_("trained at"))
    algorithm = models.CharField(_("algorithm"), max_length=50)
    path = models.CharField(_("file"), max_length=300)
    n_train = models.PositiveIntegerField(_("training leads"))
    n_test = models.PositiveIntegerField(_("held-out leads"))
    base_rate = models.FloatField(_("base rate"))
    roc_auc = models.FloatField(_("ROC-AUC"))
    brier = models.FloatField(_("Brier score"))
    brier_base = models.FloatField(_("Brier score of the base rate"))
    shown = models.BooleanField(_("shown"), default=False)
    verdict = models.CharField(_("verdict"), max_length=300)
    features = models.JSONField(_("features"), default=list)

    class Meta:
        ordering = ["-trained_at", "-id"]
        get_latest_by = "trained_at"
        verbose_name = _("learned model")
        verbose_name_plural = _("learned models")
        indexes = [models.Index(fields=["shown", "trained_at"], name="learnedmodel_shown_idx")]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.trained_at:%Y-%m-%d}"
