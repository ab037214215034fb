"""Filters of the process pages and API: ``analytics.forms.AnalysisFilterForm`` (period, node,
pipeline, product line, region, source) plus the account's industry and size, the dimension
of the time-in-stage table, and for control charts the metric and stage.

The process page's default period is not the current month (nearly empty early in a month)
but the rolling window :data:`ROLLING_KEY` — the last :data:`ROLLING_DAYS` days up to today;
an explicit period (``2026``, ``2026-Q1``, ``2026-12``, ``2026-12-W1``) is kept as given."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from salesflow.analytics.forms import AnalysisFilterForm, AnalysisFilters
from salesflow.analytics.selectors import analysis_pipeline
from salesflow.core.periods import Period
from salesflow.parties.choices import CompanySize, Industry
from salesflow.process.observations import PROCESS_METRICS, Segment
from salesflow.sales.models import Pipeline, Stage
from salesflow.users.models import User

DIMENSION_CHOICES = [
    ("team", pgettext_lazy("process", "Team")),
    ("rep", _("Rep")),
    ("industry", _("Industry")),
    ("size", _("Company size")),
    ("source", _("Source")),
    ("region", _("Region")),
]


#: the process page's default period: the last ROLLING_DAYS days, today included
ROLLING_DAYS = 90
ROLLING_KEY = f"last-{ROLLING_DAYS}-days"


@dataclass(frozen=True, order=True)
class RollingPeriod(Period):
    """The last :data:`ROLLING_DAYS` days up to ``end`` (inclusive), keyed :data:`ROLLING_KEY`.
    Only its ``start``, ``end``, ``key`` and ``label`` are read (the process selectors take a
    day range); ``kind`` is nominal."""

    @property
    def label(self) -> str:
        return gettext("Last %(days)s days (%(start)s – %(end)s)") % {
            "days": ROLLING_DAYS,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def rolling_period() -> RollingPeriod:
    today = timezone.localdate()
    return RollingPeriod(today - timedelta(days=ROLLING_DAYS - 1), today, "month", ROLLING_KEY)


@dataclass(frozen=True)
class ProcessFilters:
    """The cleaned filters: the analysis, the segment built from it, the pipeline shown (the
    chosen one or the default), and the page's own choices."""

    analysis: AnalysisFilters
    segment: Segment
    pipeline: Pipeline | None
    by: str
    metric: str
    stage: Stage | None
    params: dict[str, str]


class ProcessFilterForm(AnalysisFilterForm):
    industry = forms.ChoiceField(
        label=_("Industry"), required=False, choices=[("", _("All industries")), *Industry.choices]
    )
    size = forms.ChoiceField(
        label=_("Company size"), required=False, choices=[("", _("All sizes")), *CompanySize.choices]
    )
    by = forms.ChoiceField(label=_("Time in stage by"), required=False, choices=DIMENSION_CHOICES)

    def __init__(self, data: Any, *, user: User) -> None:
        super().__init__(data, user=user)
        for name, f in self.fields.items():
            f.widget.attrs.setdefault("class", "form-control" if name == "period" else "form-select")

    def clean_by(self) -> str:
        return self.cleaned_data.get("by") or "team"

    def clean_period(self) -> str:
        value = (self.cleaned_data.get("period") or "").strip()
        if not value or value == ROLLING_KEY:
            return ROLLING_KEY
        return super().clean_period()

    def analysis(self) -> AnalysisFilters:
        """As the analysis form, with the rolling window when the period is :data:`ROLLING_KEY`."""
        if self.cleaned_data.get("period") != ROLLING_KEY:
            return super().analysis()
        self.cleaned_data["period"] = rolling_period().end.strftime("%Y-%m")  # any valid key
        try:
            a = super().analysis()
        finally:
            self.cleaned_data["period"] = ROLLING_KEY
        return replace(a, period=rolling_period(), params={**a.params, "period": ROLLING_KEY})

    def process(self) -> ProcessFilters:
        """The cleaned filters; call after ``is_valid()``. ``Http404`` for an unseen node."""
        a = self.analysis()
        data = self.cleaned_data
        segment = Segment(
            node=a.node, filters=a.filters, industry=data.get("industry") or "", size=data.get("size") or ""
        )
        by = data.get("by") or "team"
        params = {**a.params, "industry": segment.industry, "size": segment.size, "by": by}
        return ProcessFilters(a, segment, analysis_pipeline(a), by, "", None, params)


class ControlFilterForm(ProcessFilterForm):
    """The process filters plus the metric (``PROCESS_METRICS``) and, for time in stage and
    regression rate, the stage."""

    metric = forms.ChoiceField(label=_("Metric"), required=False)
    stage = forms.TypedChoiceField(label=_("Stage"), required=False, coerce=int, empty_value=None)

    def __init__(self, data: Any, *, user: User) -> None:
        super().__init__(data, user=user)
        del self.fields["by"]
        metric: forms.ChoiceField = self.fields["metric"]  # type: ignore[assignment]
        metric.choices = [(k, m.label) for k, m in PROCESS_METRICS.items()]
        stage: forms.TypedChoiceField = self.fields["stage"]  # type: ignore[assignment]
        stage.choices = [
            ("", _("Choose a stage")),
            *[
                (s.pk, f"{s.pipeline} · {s}")
                for s in Stage.objects.filter(kind="open")
                .select_related("pipeline")
                .order_by("pipeline__position", "pipeline_id", "position")
            ],
        ]

    def clean_by(self) -> str:
        return "team"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        metric = data.get("metric") or "cycle_time"
        data["metric"] = metric
        if metric in PROCESS_METRICS and PROCESS_METRICS[metric].needs_stage and not data.get("stage"):
            self.add_error("stage", _("Choose a stage for this metric."))
        return data

    def process(self) -> ProcessFilters:
        base = super().process()
        stage_id = self.cleaned_data.get("stage")
        stage = Stage.objects.select_related("pipeline").filter(pk=stage_id).first() if stage_id else None
        params = {**base.params, "metric": self.cleaned_data["metric"], "stage": str(stage_id or "")}
        params.pop("by", None)
        return ProcessFilters(
            base.analysis, base.segment, base.pipeline, "team", self.cleaned_data["metric"], stage, params
        )
