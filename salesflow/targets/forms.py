"""Forms of the plan pages (the API validates with its schemas; both end in the services)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from salesflow.targets.models import NOTE_LENGTH


class PlanCreateForm(forms.Form):
    year = forms.IntegerField(label=_("Fiscal year"), min_value=2000, max_value=2100)


class NotesForm(forms.Form):
    product_strategy = forms.CharField(
        label=_("Product strategy"),
        required=False,
        max_length=NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )
    price_strategy = forms.CharField(
        label=_("Price strategy"),
        required=False,
        max_length=NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )
    channel_strategy = forms.CharField(
        label=_("Channel strategy"),
        required=False,
        max_length=NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )
    promotion_strategy = forms.CharField(
        label=_("Promotion strategy"),
        required=False,
        max_length=NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )


class AllocateForm(forms.Form):
    node = forms.CharField(max_length=40)
    period = forms.CharField(max_length=40)
    along = forms.ChoiceField(
        label=_("Allocate to"),
        choices=[("org", _("Teams and reps")), ("periods", _("Quarters and months"))],
        widget=forms.Select(attrs={"class": "form-select", "data-testid": "targets-allocate-along"}),
    )
    basis = forms.ChoiceField(
        label=_("Shares"),
        choices=[("last_year", _("By last year's share")), ("equal", _("Equal shares"))],
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    cascade = forms.BooleanField(
        label=_("All the way down"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input", "data-testid": "targets-allocate-cascade"}),
    )


class SeasonalityForm(forms.Form):
    node = forms.CharField(max_length=40)
    source = forms.ChoiceField(choices=[("actuals", _("From last year's actuals")), ("manual", _("Entered by hand"))])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for i in range(12):
            self.fields[f"w{i}"] = forms.IntegerField(min_value=0, max_value=10**12, required=False)

    def weights(self) -> list[int] | None:
        if self.cleaned_data["source"] == "actuals":
            return None
        return [self.cleaned_data.get(f"w{i}") or 0 for i in range(12)]
