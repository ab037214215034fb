"""Pre-computed chart figures (issue 10 item 5, speed): one row per (chart, filters, language)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChartSnapshot(models.Model):
    """A chart's data as last computed: figures are aggregates, the same for every reader who
    may see the node (the node is checked before a snapshot is read), so one row serves them
    all. ``key`` is a digest of the cleaned filters, the language and the day."""

    chart = models.CharField(_("chart"), max_length=20)
    key = models.CharField(_("key"), max_length=64)
    data = models.JSONField(_("data"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("chart snapshot")
        verbose_name_plural = _("chart snapshots")
        constraints = [
            # the one lookup: dashboards.cache.chart_data (chart, key)
            models.UniqueConstraint(fields=["chart", "key"], name="dashboards_snapshot_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.chart} {self.key[:8]}"
