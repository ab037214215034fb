"""Duplicates (查重): access requests to records someone else owns, and merges with their undo."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from salesflow.core.models import TimestampedModel


class RecordKind(models.TextChoices):
    LEAD = "lead", _("Lead")
    ACCOUNT = "account", _("Account")
    CONTACT = "contact", _("Contact")


class AccessStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    GRANTED = "granted", _("Granted")
    DECLINED = "declined", _("Declined")


class AccessLevel(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and write")


MESSAGE_LENGTH = 2000


class AccessRequest(TimestampedModel):
    """A user asks the owner of a record (a possible duplicate they may not open or change)
    for access (访问申请). Granting shares the record (a contact: its account) with them.

    ``kind`` + ``object_id`` name the record (no foreign key: a merged-away record keeps its
    requests readable); ``owner`` is its owner when the request was made.
    """

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("requested by")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=RecordKind.choices)
    object_id = models.BigIntegerField(_("record id"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    access = models.CharField(_("access"), max_length=10, choices=AccessLevel.choices, default=AccessLevel.READ)
    message = models.TextField(_("message"), blank=True, max_length=MESSAGE_LENGTH)
    status = models.CharField(_("status"), max_length=10, choices=AccessStatus.choices, default=AccessStatus.PENDING)
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
        verbose_name = _("access request")
        verbose_name_plural = _("access requests")
        indexes = [
            models.Index(fields=["owner", "status", "-created_at"], name="accessreq_owner_idx"),
            models.Index(fields=["requester", "-created_at"], name="accessreq_requester_idx"),
            models.Index(fields=["kind", "object_id"], name="accessreq_record_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["requester", "kind", "object_id"],
                condition=models.Q(status="pending"),
                name="accessreq_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.object_id}"

    def get_absolute_url(self) -> str:
        return reverse("merging:access_requests")


class MergeRecord(TimestampedModel):
    """One merge (合并) of ``loser_id`` into ``survivor_id`` of ``kind``, with what undo needs.

    ``snapshot`` (JSON) holds ``loser`` (every column of the deleted record), ``survivor_before``
    and ``survivor_after`` (the survivor's columns the merge changed, before and after),
    ``moved`` (``[{model, field, pk}]``: each related row moved from the loser) and ``dropped``
    (``[{model, row}]``: related rows deleted because the survivor already had an equal one,
    e.g. the same tag). ``undone_at`` is set once undone (undo is one-shot).
    """

    kind = models.CharField(_("kind"), max_length=10, choices=RecordKind.choices)
    survivor_id = models.BigIntegerField(_("survivor"))
    loser_id = models.BigIntegerField(_("merged record"))
    loser_label = models.CharField(_("merged record"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("merged by")
    )
    snapshot = models.JSONField(_("snapshot"), default=dict)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        indexes = [
            models.Index(fields=["kind", "survivor_id", "-created_at"], name="merge_survivor_idx"),
            models.Index(fields=["kind", "loser_id"], name="merge_loser_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.loser_id} → #{self.survivor_id}"

    def get_absolute_url(self) -> str:
        return reverse("merging:merge_result", args=[self.pk])
