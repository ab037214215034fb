"""The objection library (异议库): objections by category, stage and product line, their
recommended answers, and the objections logged on deals with the answer used."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from salesflow.core.models import TimestampedModel, TranslatedNameModel
from salesflow.objections.choices import AnswerStatus
from salesflow.sales.models import Opportunity, Stage

OBJECTION_TEXT_LENGTH = 500
ANSWER_TEXT_LENGTH = 4000
PRODUCT_LINE_LENGTH = 100
NOTE_LENGTH = 2000


def _in_language(zh: str, en: str) -> str:
    if (get_language() or "").lower().startswith("zh") and zh:
        return zh
    return en or zh


class ObjectionCategory(TranslatedNameModel, TimestampedModel):
    """What an objection is about (price 价格, timing 时机, authority 决策权, competitor 竞争对手,
    need 需求, …): data, seeded by migration ``0002``, extended in the Django admin."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    position = models.PositiveIntegerField(pgettext_lazy("ordering", "position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("objection category")
        verbose_name_plural = _("objection categories")


class Objection(TimestampedModel):
    """Something a customer says that stands between the deal and the order, in both UI
    languages. ``stage`` is where it is usually raised (empty: any stage); ``product_line``
    is free text until the product catalogue exists (empty: any product)."""

    category = models.ForeignKey(
        ObjectionCategory, on_delete=models.PROTECT, related_name="objections", verbose_name=_("category")
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("stage")
    )
    product_line = models.CharField(_("product line"), max_length=PRODUCT_LINE_LENGTH, blank=True)
    text_zh = models.CharField(_("objection (Chinese)"), max_length=OBJECTION_TEXT_LENGTH, blank=True)
    text_en = models.CharField(_("objection (English)"), max_length=OBJECTION_TEXT_LENGTH, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["category__position", "id"]
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        indexes = [
            # the library and the deal panel: active objections of a category / of a stage
            models.Index(fields=["is_active", "category"], name="objection_active_cat_idx"),
            models.Index(fields=["stage", "is_active"], name="objection_stage_idx"),
        ]

    @property
    def text(self) -> str:
        return _in_language(self.text_zh, self.text_en)

    def __str__(self) -> str:
        return self.text


class ObjectionAnswer(TimestampedModel):
    """A recommended answer to an objection. Reps may suggest one (``status=suggested``),
    which only its author and the library's editors see until an editor approves it."""

    objection = models.ForeignKey(
        Objection, on_delete=models.CASCADE, related_name="answers", verbose_name=_("objection")
    )
    text_zh = models.TextField(_("answer (Chinese)"), blank=True)
    text_en = models.TextField(_("answer (English)"), blank=True)
    position = models.PositiveIntegerField(pgettext_lazy("ordering", "position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    status = models.CharField(_("status"), max_length=10, choices=AnswerStatus.choices, default=AnswerStatus.APPROVED)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )

    class Meta:
        ordering = ["objection", "position", "id"]
        verbose_name = _("recommended answer")
        verbose_name_plural = _("recommended answers")
        # objection → its answers (prefetch of the library, the detail page and the deal panel)
        indexes = [models.Index(fields=["objection", "position"], name="objection_answer_pos_idx")]

    @property
    def text(self) -> str:
        return _in_language(self.text_zh, self.text_en)

    def __str__(self) -> str:
        return self.text[:80]


class DealObjection(models.Model):
    """An objection raised on a deal and the answer used: a library answer, a custom
    answer, or both empty (not answered yet). ``stage`` is the deal's stage when logged."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="objection_logs", verbose_name=_("opportunity")
    )
    objection = models.ForeignKey(
        Objection, on_delete=models.PROTECT, related_name="deal_logs", verbose_name=_("objection")
    )
    answer = models.ForeignKey(
        ObjectionAnswer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deal_logs",
        verbose_name=_("answer used"),
    )
    custom_answer = models.TextField(_("own answer"), blank=True)
    stage = models.ForeignKey(
        Stage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("stage")
    )
    note = models.TextField(_("note"), blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    logged_at = models.DateTimeField(_("logged at"), default=timezone.now)

    class Meta:
        ordering = ["-logged_at", "-id"]
        verbose_name = _("logged objection")
        verbose_name_plural = _("logged objections")
        indexes = [
            # the deal panel: a deal's logged objections, newest first
            models.Index(fields=["opportunity", "-logged_at"], name="dealobj_opp_logged_idx"),
            # win rates: closed deals per answer (selectors.win_rates groups by answer)
            models.Index(fields=["answer", "opportunity"], name="dealobj_answer_opp_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.objection}"
