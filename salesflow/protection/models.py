"""Customer protection: the known-customer list (已成交客户名单) loaded from ERP or finance
exports, the records flagged as known customers, and collisions (撞单) between reps waiting
for arbitration (裁决)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesflow.core.models import TimestampedModel
from salesflow.core.phrases import phrase_texts
from salesflow.protection.choices import (
    CollisionAction,
    CollisionStatus,
    Decision,
    LoadStatus,
    RecordKind,
    TransferDirection,
)

COMPANY_NAME_LENGTH = 200
NAME_KEY_LENGTH = 200
EXTERNAL_ID_LENGTH = 100
SOURCE_LENGTH = 50
NOTE_LENGTH = 2000


class KnownCustomerLoad(TimestampedModel):
    """One load of a known-customer list (a file or an API call): the batch its rows belong
    to, and its result summary (created/updated/rejected counts, rejected rows with reasons)."""

    source_system = models.CharField(_("source system"), max_length=SOURCE_LENGTH)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("loaded by"),
    )
    status = models.CharField(_("status"), max_length=20, choices=LoadStatus.choices, default=LoadStatus.QUEUED)
    rows = models.JSONField(_("rows to load"), default=list, blank=True, editable=False)
    total = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    errors = models.JSONField(_("rejected rows"), default=list, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("known-customer list load")
        verbose_name_plural = _("known-customer list loads")
        indexes = [models.Index(fields=["-created_at", "-id"], name="protection_load_recent")]

    def __str__(self) -> str:
        return f"{self.source_system} #{self.pk}"


class KnownCustomer(TimestampedModel):
    """A customer the company already has (from the ERP or finance), with its owner and/or
    sales office as the export gives them. Unique per ``(source_system, external_id)``:
    loading the same list again updates the rows instead of duplicating them."""

    company_name = models.CharField(_("customer name"), max_length=COMPANY_NAME_LENGTH)
    name_key = models.CharField(_("matching key"), max_length=NAME_KEY_LENGTH, db_index=True, editable=False)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    owner_name = models.CharField(_("owner (as exported)"), max_length=100, blank=True)
    sales_office = models.CharField(_("sales office"), max_length=100, blank=True)
    source_system = models.CharField(_("source system"), max_length=SOURCE_LENGTH)
    external_id = models.CharField(_("external id"), max_length=EXTERNAL_ID_LENGTH)
    loaded_at = models.DateTimeField(_("loaded at"), default=timezone.now)
    batch = models.ForeignKey(
        KnownCustomerLoad,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("load"),
    )

    class Meta:
        ordering = ["company_name", "id"]
        verbose_name = _("known customer")
        verbose_name_plural = _("known customers")
        constraints = [
            models.UniqueConstraint(fields=["source_system", "external_id"], name="protection_known_customer_source_id")
        ]
        indexes = [models.Index(fields=["company_name", "id"], name="protection_kc_name")]

    def __str__(self) -> str:
        return self.company_name

    @property
    def owner_label(self) -> str:
        """The owner's display name, else the exported owner name ('' when neither)."""
        if self.owner is not None:
            return str(self.owner)
        return self.owner_name


class KnownCustomerMatch(models.Model):
    """A lead or account flagged "existing customer": it matched ``known_customer``."""

    known_customer = models.ForeignKey(
        KnownCustomer, on_delete=models.CASCADE, related_name="matches", verbose_name=_("known customer")
    )
    record_kind = models.CharField(_("record type"), max_length=20, choices=RecordKind.choices)
    record_id = models.PositiveBigIntegerField(_("record"))
    matched_by = models.CharField(_("matched by"), max_length=20)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("known-customer match")
        verbose_name_plural = _("known-customer matches")
        constraints = [
            models.UniqueConstraint(
                fields=["record_kind", "record_id", "known_customer"], name="protection_match_record_customer"
            )
        ]


class Collision(TimestampedModel):
    """A collision (撞单): a rep (``claimant``) created, imported or claimed a record that
    another rep (``holder``) owns or protects. The save went through; an arbiter (the lowest
    manager above both reps, else an administrator) decides keep, transfer or share."""

    new_kind = models.CharField(_("new record type"), max_length=20, choices=RecordKind.choices)
    new_id = models.PositiveBigIntegerField(_("new record"))
    existing_kind = models.CharField(_("existing record type"), max_length=20, choices=RecordKind.choices)
    existing_id = models.PositiveBigIntegerField(_("existing record"))
    # users are deactivated, not deleted; deleting one (the demo's reset) removes their collisions
    claimant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("claimant")
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("holder")
    )
    arbiter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("arbiter"),
        help_text=_("Empty: any administrator decides."),
    )
    action = models.CharField(_("how it came in"), max_length=20, choices=CollisionAction.choices)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    score = models.FloatField(_("score"), default=0.0)
    status = models.CharField(_("status"), max_length=20, choices=CollisionStatus.choices, default=CollisionStatus.OPEN)
    decision = models.CharField(_("decision"), max_length=20, choices=Decision.choices, blank=True)
    direction = models.CharField(_("transfer direction"), max_length=20, choices=TransferDirection.choices, blank=True)
    note = models.TextField(_("note"), max_length=NOTE_LENGTH, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("collision")
        verbose_name_plural = _("collisions")
        indexes = [
            models.Index(fields=["status", "-created_at", "-id"], name="protection_collision_queue"),
            models.Index(fields=["claimant", "-created_at"], name="protection_collision_claimant"),
            models.Index(fields=["holder", "-created_at"], name="protection_collision_holder"),
            models.Index(fields=["new_kind", "new_id"], name="protection_collision_new"),
        ]

    def __str__(self) -> str:
        return f"{_('Collision')} #{self.pk}"

    @property
    def reason_texts(self) -> list[str]:
        """The reasons in the active language (they are kept language-neutrally)."""
        return phrase_texts(self.reasons)
