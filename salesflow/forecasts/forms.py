"""Forms of forecast submissions: the page filters (shared by the pages and the API, so both
read the same parameters the same way) and the figures form (submission and adjustment)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.analytics.selectors import Node, node_for_user
from salesflow.core.errors import ValidationFailed
from salesflow.core.money import MoneyFormField
from salesflow.core.periods import Period
from salesflow.forecasts.models import NOTE_MAX_LENGTH
from salesflow.forecasts.selectors import default_node, default_period, forecast_period
from salesflow.users.models import User

MAX_PERIODS = 24
PERIOD_HELP = _("A month or a quarter, such as 2026-12 or 2026-Q4.")


@dataclass(frozen=True)
class Filters:
    """What a forecast page or endpoint reads: the level (checked for the reader), the
    period, the waterfall's start day and the accuracy's period kind and count."""

    node: Node
    period: Period
    since: date
    kind: str
    count: int

    def query(self, **override: str) -> str:
        from urllib.parse import urlencode

        params = {"node": self.node.key, "period": self.period.key, "since": self.since.isoformat()}
        params.update(override)
        return urlencode({k: v for k, v in params.items() if v})


class FilterForm(forms.Form):
    """``node`` (company, team:<id>, rep:<id>; default the widest the reader sees — an unseen
    node is ``Http404``), ``period`` (a month or a quarter; default this month), ``since`` (the
    waterfall's start day; default seven days ago), ``kind`` and ``count`` (accuracy: the
    last ``count`` months or quarters)."""

    node = forms.CharField(required=False, max_length=40)
    period = forms.CharField(required=False, max_length=20, help_text=PERIOD_HELP)
    since = forms.DateField(required=False)
    kind = forms.ChoiceField(required=False, choices=[("month", _("Months")), ("quarter", _("Quarters"))])
    count = forms.IntegerField(required=False, min_value=1, max_value=MAX_PERIODS)

    def __init__(self, data: Mapping[str, Any] | None, *, user: User, today: date | None = None) -> None:
        super().__init__(data or {})
        self.user = user
        self.today = today or timezone.localdate()

    def clean_node(self) -> Node:
        key = (self.cleaned_data.get("node") or "").strip()
        if not key:
            return default_node(self.user)
        return node_for_user(self.user, key)  # Http404 when unseen or malformed

    def clean_period(self) -> Period:
        key = (self.cleaned_data.get("period") or "").strip()
        if not key:
            return default_period(self.today)
        try:
            return forecast_period(key)
        except ValueError:
            raise forms.ValidationError(_("Enter a month or a quarter, such as 2026-12 or 2026-Q4.")) from None

    def clean_since(self) -> date:
        since: date | None = self.cleaned_data.get("since")
        if since is None:
            return self.today - timedelta(days=7)
        if since > self.today or since < date(2000, 1, 1):
            raise forms.ValidationError(_("Choose a day between 2000-01-01 and today."))
        return since

    def filters(self) -> Filters:
        d = self.cleaned_data
        return Filters(d["node"], d["period"], d["since"], d.get("kind") or "month", d.get("count") or 6)


def filters_or_error(data: Mapping[str, Any], user: User) -> Filters:
    """The cleaned filters; ``ValidationFailed`` naming each bad field; ``Http404`` for a node
    ``user`` may not see."""
    form = FilterForm({k: v for k, v in data.items() if v is not None}, user=user)
    if not form.is_valid():
        raise ValidationFailed(
            str(_("Check the filters.")), field_errors={k: [str(e) for e in v] for k, v in form.errors.items()}
        )
    return form.filters()


class FiguresForm(forms.Form):
    """Commit, best case and pipeline (company currency) and a note; the service validates
    again (cumulative order, the period)."""

    commit = MoneyFormField(label=_("Commit"))
    best_case = MoneyFormField(label=_("Best case"))
    pipeline = MoneyFormField(label=pgettext_lazy("forecast category", "Pipeline"))
    note = forms.CharField(
        label=_("Note"), required=False, max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )
