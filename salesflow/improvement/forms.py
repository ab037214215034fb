"""Forms of the improvement pages. They parse input into the services' keywords; the
services validate again and decide (a form only offers what the reader may choose)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.analytics.selectors import nodes_visible_to, visible_rep_ids
from salesflow.improvement.models import ACTION_MAX_LENGTH, METRIC_LABELS, PROBLEM_MAX_LENGTH, TITLE_MAX_LENGTH, Project
from salesflow.parties.choices import CompanySize, Industry
from salesflow.process.observations import PROCESS_METRICS
from salesflow.sales.models import Pipeline, Stage
from salesflow.users.models import User
from salesflow.users.permissions import is_system_actor

_TEXT = {"class": "form-control"}
_SELECT = {"class": "form-select"}
_DATE = {"class": "form-control", "type": "date"}


def _people(user: User) -> list[tuple[str, str]]:
    """People ``user`` may make an owner: administrators anyone active, managers themselves
    and the people of their teams (the services' rule)."""
    reps = visible_rep_ids(user)
    qs = User.objects.filter(is_active=True).order_by("display_name", "username")
    if reps is not None:
        qs = qs.filter(pk__in=reps)
    return [(str(u.pk), str(u)) for u in qs if not is_system_actor(u)]


def _choices(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


class ProjectForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX_LENGTH, widget=forms.TextInput(attrs=_TEXT))
    problem = forms.CharField(
        label=_("Problem statement"),
        max_length=PROBLEM_MAX_LENGTH,
        widget=forms.Textarea(attrs={**_TEXT, "rows": 3}),
        help_text=_("What is wrong, where, since when and what it costs."),
    )
    metric_key = forms.ChoiceField(label=_("Metric"), widget=forms.Select(attrs=_SELECT))
    pipeline_id = forms.TypedChoiceField(
        label=_("Pipeline"), coerce=int, empty_value=None, required=False, widget=forms.Select(attrs=_SELECT)
    )
    stage_id = forms.TypedChoiceField(
        label=_("Stage"),
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.Select(attrs=_SELECT),
        help_text=_("Needed for time in stage."),
    )
    node = forms.ChoiceField(label=_("Team or person"), widget=forms.Select(attrs=_SELECT))
    industry = forms.ChoiceField(label=_("Industry"), required=False, widget=forms.Select(attrs=_SELECT))
    size = forms.ChoiceField(label=_("Company size"), required=False, widget=forms.Select(attrs=_SELECT))
    target_value = forms.DecimalField(
        label=_("Target value"),
        max_digits=14,
        decimal_places=4,
        min_value=0,
        widget=forms.NumberInput(attrs={**_TEXT, "step": "any"}),
        help_text=_("In days for times; a fraction from 0 to 1 for rates."),
    )
    baseline_start = forms.DateField(label=_("Baseline from"), widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"))
    baseline_end = forms.DateField(label=_("Baseline to"), widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"))
    owner_id = forms.TypedChoiceField(label=_("Owner"), coerce=int, widget=forms.Select(attrs=_SELECT))

    def __init__(self, *args: Any, user: User, project: Project | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "metric_key").choices = [
            (m.key, METRIC_LABELS.get(m.key, m.label)) for m in PROCESS_METRICS.values()
        ]
        pipelines = list(Pipeline.objects.order_by("position", "pk"))
        _choices(self, "pipeline_id").choices = [("", _("All pipelines"))] + [(str(p.pk), p.label) for p in pipelines]
        names = {p.pk: p.label for p in pipelines}
        stages = Stage.objects.filter(is_active=True).order_by("pipeline__position", "pipeline_id", "position")
        _choices(self, "stage_id").choices = [("", "—")] + [
            (str(s.pk), f"{names.get(s.pipeline_id, '')} · {s.label}") for s in stages
        ]
        nodes = [(n.key, n.label) for n in nodes_visible_to(user)]
        if project is not None and project.node_key not in {k for k, _v in nodes}:
            nodes.insert(0, (project.node_key, project.node_key))
        _choices(self, "node").choices = nodes
        _choices(self, "industry").choices = [("", _("All industries")), *Industry.choices]
        _choices(self, "size").choices = [("", _("All sizes")), *CompanySize.choices]
        people = _people(user)
        if project is not None and str(project.owner_id) not in {k for k, _v in people}:
            people.insert(0, (str(project.owner_id), str(project.owner)))
        _choices(self, "owner_id").choices = people

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["target_value"] = data["target_value"]
        return data


class ActionForm(forms.Form):
    description = forms.CharField(
        label=pgettext_lazy("improvement", "Action"), max_length=ACTION_MAX_LENGTH, widget=forms.TextInput(attrs=_TEXT)
    )
    owner_id = forms.TypedChoiceField(label=_("Owner"), coerce=int, widget=forms.Select(attrs=_SELECT))
    due_on = forms.DateField(
        label=pgettext_lazy("improvement", "Due date"),
        required=False,
        widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
    )
    done_on = forms.DateField(
        label=_("Done on (change date)"), required=False, widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d")
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "owner_id").choices = _people(user)


class AdvanceForm(forms.Form):
    to_phase = forms.CharField(max_length=10, widget=forms.HiddenInput)
    limits_through = forms.DateField(
        label=_("Control limits from data through"),
        required=False,
        widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
        help_text=_("Default today."),
    )

    def clean_limits_through(self) -> dt.date | None:
        value: dt.date | None = self.cleaned_data.get("limits_through")
        return value
