"""The one filter form of dashboards and reports (issue 10): period, node (company, team or
rep), pipeline, product line, region and source. Every page and every API endpoint of the
analysis apps parses its filters here, so a chart, its table, its export and the records
behind it read the same parameters the same way.

Query parameters: ``period`` (a ``core.periods`` key, default the current month),
``node`` (``company`` / ``team:<id>`` / ``rep:<id>``, default the widest node the user may
see), ``pipeline``, ``product_line``, ``region`` (ids) and ``source`` (a source channel).
A bad value is a field error (400 in the API), never a 500. The node field offers only the
nodes the user may see, so in the API an unseen node is a 400 naming ``node``; pages that take
a node from their path resolve it with ``analytics.selectors.node_for_user`` (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesflow.analytics.selectors import Node, node_for_user, nodes_visible_to
from salesflow.catalogue.models import ProductCategory
from salesflow.core.metrics import MetricFilters
from salesflow.core.periods import Period, parse_period, period_containing
from salesflow.parties.choices import SourceChannel
from salesflow.parties.selectors import territory_choices, territory_subtree_ids
from salesflow.sales.models import Pipeline
from salesflow.users.models import User

#: the parameters this form reads (saved views and exports keep only these)
PARAMS: tuple[str, ...] = ("period", "node", "pipeline", "product_line", "region", "source")


@dataclass(frozen=True)
class AnalysisFilters:
    """What the form cleaned to: the period, the node and the metric filters."""

    period: Period
    node: Node
    filters: MetricFilters
    params: dict[str, str]  # the cleaned parameters, for links (drill-down, export, saved views)

    def query_string(self, **override: str) -> str:
        from urllib.parse import urlencode

        values = {**self.params, **override}
        return urlencode({k: v for k, v in values.items() if v})


def default_node(user: User) -> Node:
    nodes = nodes_visible_to(user)
    return nodes[0] if nodes else Node("rep", user.pk, str(user))


class AnalysisFilterForm(forms.Form):
    period = forms.CharField(label=_("Period"), required=False, max_length=20)
    node = forms.ChoiceField(label=_("Team or person"), required=False)
    pipeline = forms.TypedChoiceField(label=_("Pipeline"), required=False, coerce=int, empty_value=None)
    product_line = forms.TypedChoiceField(label=_("Product line"), required=False, coerce=int, empty_value=None)
    region = forms.TypedChoiceField(label=_("Region"), required=False, coerce=int, empty_value=None)
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[("", _("All sources")), *SourceChannel.choices]
    )

    def __init__(self, data: Any, *, user: User) -> None:
        super().__init__(data)
        self.user = user
        nodes = nodes_visible_to(user)
        node_field: forms.ChoiceField = self.fields["node"]  # type: ignore[assignment]
        node_field.choices = [(n.key, n.label) for n in nodes]
        pipeline: forms.TypedChoiceField = self.fields["pipeline"]  # type: ignore[assignment]
        pipeline.choices = [
            ("", _("All pipelines")),
            *[(p.pk, str(p)) for p in Pipeline.objects.order_by("position", "pk")],
        ]
        product_line: forms.TypedChoiceField = self.fields["product_line"]  # type: ignore[assignment]
        product_line.choices = [
            ("", _("All product lines")),
            *[(c.pk, str(c)) for c in ProductCategory.objects.filter(active=True).order_by("code")],
        ]
        region: forms.TypedChoiceField = self.fields["region"]  # type: ignore[assignment]
        region.choices = [("", _("All regions")), *territory_choices()]

    def clean_period(self) -> str:
        value = (self.cleaned_data.get("period") or "").strip()
        if not value:
            return period_containing("month", timezone.localdate()).key
        try:
            return parse_period(value).key
        except ValueError:
            raise forms.ValidationError(
                _("Enter a period such as 2026, 2026-Q1, 2026-12 or 2026-12-W1."), code="period"
            ) from None

    def analysis(self) -> AnalysisFilters:
        """The cleaned filters; call after ``is_valid()``. ``Http404`` for a node not visible."""
        data = self.cleaned_data
        node = node_for_user(self.user, data["node"]) if data.get("node") else default_node(self.user)
        region = data.get("region")
        filters = MetricFilters(
            pipeline_ids=(data["pipeline"],) if data.get("pipeline") else (),
            product_line_ids=(data["product_line"],) if data.get("product_line") else (),
            region_ids=tuple(sorted(territory_subtree_ids(region))) if region else (),
            sources=(data["source"],) if data.get("source") else (),
        )
        params = {
            "period": data["period"],
            "node": node.key,
            "pipeline": str(data.get("pipeline") or ""),
            "product_line": str(data.get("product_line") or ""),
            "region": str(region or ""),
            "source": data.get("source") or "",
        }
        return AnalysisFilters(period=parse_period(data["period"]), node=node, filters=filters, params=params)


class ReportFilterForm(AnalysisFilterForm):
    """The analysis filters plus a report's own ``dimension`` (``analytics.reports``)."""

    dimension = forms.ChoiceField(label=_("Show by"), required=False)

    def __init__(self, data: Any, *, user: User, dimensions: Any) -> None:
        super().__init__(data, user=user)
        field: forms.ChoiceField = self.fields["dimension"]  # type: ignore[assignment]
        field.choices = list(dimensions)
        self.default_dimension = str(field.choices[0][0])
        for name, f in self.fields.items():
            css = "form-control" if name == "period" else "form-select"
            f.widget.attrs.setdefault("class", css)
        self.fields["period"].widget.attrs.setdefault("placeholder", "2026-Q1")

    def clean_dimension(self) -> str:
        return self.cleaned_data.get("dimension") or self.default_dimension
