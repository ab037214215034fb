from django import forms
from django.utils.translation import gettext_lazy as _

from salesflow.users.models import time_zone_names


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100, help_text=_("e.g. “ERP sync” or “my script”."))


class PreferencesForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        widget=forms.Select(attrs={"data-searchable": ""}),
        help_text=_("“Today”, due and overdue are computed in this zone."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["time_zone"].choices = [(name, name) for name in sorted(time_zone_names())]  # type: ignore[attr-defined]
