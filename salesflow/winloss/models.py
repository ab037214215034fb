"""Pre-computed win/loss drivers (issue 11 item 6, speed): one row per set of filters, for every
language (the figures hold codes, not text)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WinLossSnapshot(models.Model):
    """The drivers of one node, period and filter set as last computed. The figures are
    aggregates, the same for every reader who may see the node (the node is checked before a
    snapshot is read), so one row serves them all, in every language: ``data`` holds keys,
    codes and numbers, labelled at render time (``winloss.labels``). ``key`` is a digest of
    the cleaned filters (``cache.snapshot_key``)."""

    key = models.CharField(_("key"), max_length=64, unique=True)
    data = models.JSONField(_("data"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("win/loss snapshot")
        verbose_name_plural = _("win/loss snapshots")
        indexes = [models.Index(fields=["computed_at"], name="winloss_snap_computed_idx")]

    def __str__(self) -> str:
        return self.key[:8]
