"""Filters of the process pages and API: ``analytics.forms.AnalysisFilterForm`` (period, node,
pipeline, product line, region, source) plus the account's industry and size, the dimension
of the time-in-stage table, and for control charts the metric and stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.analytics.forms import AnalysisFilterForm, AnalysisFilters
from salesflow.analytics.selectors import analysis_pipeline
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
