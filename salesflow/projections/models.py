"""The stored revenue forecasts (issue 11 item 2).

A backtest and a model fit take seconds, so no request computes them: the job
``projections.tasks.compute_forecasts`` writes one :class:`ForecastRun` per (node, metric,
frequency) and the page and the API only read it (one indexed query).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Freq(models.TextChoices):
    MONTH = "M", _("Per month")
    WEEK = "W", _("Per week")


class ForecastRun(models.Model):
    """The latest forecast of one metric for one node at one frequency.

    ``history``: ``[[period start ISO, amount], …]`` (complete periods, oldest first, amounts
    as decimal strings in the company currency). ``forecast``: ``[[period start ISO, mean,
    lo, hi], …]`` (``lo``/``hi`` the 80% interval, ``null`` when the model gives none).
    ``table``: one dict per model run in the backtest (``name, mape, smape, mase, mae, folds,
    baseline``). ``notes``: the backtest's note codes (``projections.backtest.NOTE_*`` plus
    ``no_history`` and ``leading_zeros_trimmed``). Rewritten in place by each run.
    """

    node_key = models.CharField(_("node"), max_length=30)
    metric = models.CharField(_("metric"), max_length=40)
    freq = models.CharField(_("frequency"), max_length=1, choices=Freq.choices)
    computed_at = models.DateTimeField(_("computed at"))
    horizon = models.PositiveSmallIntegerField(_("horizon"))
    folds = models.PositiveSmallIntegerField(_("folds"), default=0)
    chosen = models.CharField(_("chosen model"), max_length=40, blank=True)
    baseline = models.CharField(_("better baseline"), max_length=40, blank=True)
    beat_baseline = models.BooleanField(_("a model beat the baseline"), default=False)
    table = models.JSONField(_("backtest table"), default=list)
    history = models.JSONField(_("history"), default=list)
    forecast = models.JSONField(_("forecast"), default=list)
    level = models.PositiveSmallIntegerField(_("interval level"), default=80)
    notes = models.JSONField(_("notes"), default=list)

    class Meta:
        verbose_name = _("forecast run")
        verbose_name_plural = _("forecast runs")
        constraints = [
            models.UniqueConstraint(fields=["node_key", "metric", "freq"], name="projections_run_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.node_key} {self.freq}"
