"""Pre-computed figures of "most likely achievable revenue" (issue 11 item 3).

Both tables hold derived data only (recomputed from the deals and their history; nothing is
lost by deleting them): the daily calibration tables and, per node and period, the latest
simulation with the time it was computed."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Calibration(models.Model):
    """One computation of the calibration tables (``achievable.services.calibration_compute``):
    win-rate cells by stage × age bucket × segment (the owner's team at the time) with their
    counts, the configured stage probabilities, the close-date slip distributions by team and
    the reliability diagram. Pages read the latest row; older rows are deleted when a new one
    is written."""

    computed_at = models.DateTimeField(_("computed at"))
    history_from = models.DateField(_("history from"))
    history_to = models.DateField(_("history to"))
    data = models.JSONField(_("data"))

    class Meta:
        verbose_name = _("win-rate calibration")
        verbose_name_plural = _("win-rate calibrations")
        indexes = [
            # the one lookup: the latest calibration (achievable.selectors.latest_calibration)
            models.Index(fields=["-computed_at"], name="achievable_calib_latest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.computed_at:%Y-%m-%d %H:%M}"


class RevenueSnapshot(models.Model):
    """The latest simulation of one node (``company``, ``team:<id>``, ``rep:<id>``) for one
    period (``2026-12``, ``2026-Q4``): P10/P50/P90, mean, closed revenue, the configured
    expected value and the per-stage table, in the company currency. Figures are aggregates,
    the same for every reader who may see the node (checked before reading)."""

    node_key = models.CharField(_("team or person"), max_length=30)
    period_key = models.CharField(_("period"), max_length=20)
    computed_at = models.DateTimeField(_("computed at"))
    data = models.JSONField(_("data"))

    class Meta:
        verbose_name = _("likely revenue snapshot")
        verbose_name_plural = _("likely revenue snapshots")
        constraints = [
            # the one lookup: achievable.selectors.likely_revenue (node, period)
            models.UniqueConstraint(fields=["node_key", "period_key"], name="achievable_snapshot_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.node_key} {self.period_key}"
