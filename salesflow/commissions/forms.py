"""Forms of the commission pages: thin; the services parse and validate again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesflow.catalogue.models import ProductCategory
from salesflow.commissions.choices import Basis, StatementStatus
from salesflow.commissions.models import MAX_TIERS, NAME_LENGTH, NOTES_LENGTH
from salesflow.users.choices import Role
from salesflow.users.models import User

DATE = forms.DateInput(attrs={"type": "date"})


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_LENGTH)
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE)
    valid_to = forms.DateField(label=_("Valid to"), widget=DATE)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    notes = forms.CharField(
        label=_("Notes"), max_length=NOTES_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RuleForm(forms.Form):
    """A rule with up to :data:`MAX_TIERS` tiers as rows ``threshold_N`` / ``multiplier_N``."""

    TIER_ROWS = 3

    name = forms.CharField(label=_("Name"), max_length=NAME_LENGTH)
    basis = forms.ChoiceField(label=_("Basis"), choices=Basis.choices)
    role = forms.ChoiceField(label=_("Role"), choices=[("", _("Every role")), *Role.choices], required=False)
    product_line = forms.ModelChoiceField(
        label=_("Product line"),
        queryset=ProductCategory.objects.filter(active=True),
        required=False,
        empty_label=_("Whole deal"),
        help_text=_("Only for rules on the won amount: the deal's lines of this product line."),
    )
    rate = forms.CharField(label=_("Base rate (%)"), max_length=20, help_text=_("For example 3 or 2.5"))

    def __init__(self, *args: Any, tier_rows: int = TIER_ROWS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tier_rows = max(1, min(tier_rows, MAX_TIERS))
        for i in range(self.tier_rows):
            self.fields[f"threshold_{i}"] = forms.CharField(
                label=_("Above attainment (%)"), max_length=20, required=False
            )
            self.fields[f"multiplier_{i}"] = forms.CharField(label=_("Rate multiplier"), max_length=20, required=False)

    def tier_pairs(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"threshold_{i}"], self[f"multiplier_{i}"]) for i in range(self.tier_rows)]

    def tiers(self) -> list[tuple[str, str, int]]:
        """(threshold, multiplier, row) of the filled rows."""
        rows = []
        for i in range(self.tier_rows):
            t = (self.cleaned_data.get(f"threshold_{i}") or "").strip()
            m = (self.cleaned_data.get(f"multiplier_{i}") or "").strip()
            if t or m:
                rows.append((t, m, i))
        return rows


class StatementFilterForm(forms.Form):
    period = forms.CharField(label=_("Period"), max_length=12, required=False)
    rep = forms.ModelChoiceField(label=_("Rep"), queryset=User.objects.none(), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("All")), *StatementStatus.choices], required=False)

    def __init__(self, *args: Any, reps: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if reps is not None:
            self.fields["rep"].queryset = reps  # type: ignore[attr-defined]


class GenerateForm(forms.Form):
    rep = forms.ModelChoiceField(
        label=_("Rep"), queryset=User.objects.none(), required=False, empty_label=_("Everyone I manage")
    )
    period = forms.CharField(label=_("Period"), max_length=12, help_text=_("A month (2026-11) or a quarter (2026-Q4)"))

    def __init__(self, *args: Any, reps: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if reps is not None:
            self.fields["rep"].queryset = reps  # type: ignore[attr-defined]
