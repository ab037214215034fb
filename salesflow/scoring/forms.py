"""Forms of the scoring settings page. They only parse; ``scoring.services`` validates."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.scoring.choices import RuleAttribute, RuleCategory, RuleOperator
from salesflow.scoring.models import ScoreRule


class RuleForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=100)
    category = forms.ChoiceField(label=_("Category"), choices=RuleCategory.choices)
    attribute = forms.ChoiceField(label=_("Attribute"), choices=RuleAttribute.choices)
    operator = forms.ChoiceField(label=_("Operator"), choices=RuleOperator.choices)
    value = forms.CharField(
        label=_("Match value"),
        max_length=300,
        help_text=_("A code, codes separated by commas, words to look for, or a number."),
    )
    window_days = forms.IntegerField(
        label=_("Look-back (days)"), min_value=1, max_value=3650, initial=30, help_text=_("For activity counts.")
    )
    points = forms.IntegerField(label=_("Points"), min_value=-1000, max_value=1000)
    position = forms.IntegerField(
        label=pgettext_lazy("ordering", "Position"), min_value=0, max_value=100_000, initial=0
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    @classmethod
    def for_rule(cls, rule: ScoreRule, data: Any = None) -> RuleForm:
        initial = {key: getattr(rule, key) for key in cls.base_fields}
        return cls(data, initial=initial)
