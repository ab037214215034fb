"""The filters of the likely-revenue page and API: the node (company, team or person the
reader may see) and the span (this month or this quarter)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.analytics.selectors import nodes_visible_to
from salesflow.dashboards.charts import widest_node_key
from salesflow.users.models import User

SPAN_CHOICES = [("month", pgettext_lazy("period", "This month")), ("quarter", pgettext_lazy("period", "This quarter"))]


class LikelyRevenueForm(forms.Form):
    """``node`` (default the widest the reader sees: the company, else the top-most team,
    else themself — ``dashboards.charts.widest_node_key``) and ``span`` (default ``month``). A node
    outside the reader's choices is an error on ``node``; callers answer it with 404."""

    node = forms.ChoiceField(label=_("Team or person"), required=False)
    span = forms.ChoiceField(label=_("Period"), required=False, choices=SPAN_CHOICES)

    def __init__(self, data: Any, *, user: User) -> None:
        data = {k: v for k, v in (data or {}).items() if k in ("node", "span")}
        if not data.get("node"):  # shown selected in the form too
            data["node"] = widest_node_key(user)
        super().__init__(data)
        self.user = user
        self.nodes = nodes_visible_to(user)
        field: forms.ChoiceField = self.fields["node"]  # type: ignore[assignment]
        field.choices = [(n.key, n.label) for n in self.nodes]
        for name, f in self.fields.items():
            f.widget.attrs.setdefault("class", "form-select")
            f.widget.attrs.setdefault("data-testid", f"achievable-{name}")

    def clean_node(self) -> str:
        value: str = self.cleaned_data.get("node") or ""
        if not value:
            if not self.nodes:
                raise forms.ValidationError(_("You may see no team or person."), code="node")
            value = widest_node_key(self.user)
        return value

    def clean_span(self) -> str:
        return self.cleaned_data.get("span") or "month"
