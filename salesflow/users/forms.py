from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesflow.users.models import ShareAccess, Team, User
from salesflow.users.selectors import shareable_users


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100, help_text=_("e.g. “ERP sync” or “my script”."))


class ShareForm(forms.Form):
    """Add a share: one user or one team, read only or read and write."""

    user = forms.ModelChoiceField(label=_("User"), queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    access = forms.ChoiceField(label=_("Access"), choices=ShareAccess.choices, initial=ShareAccess.READ)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user_field = self.fields["user"]
        team_field = self.fields["team"]
        assert isinstance(user_field, forms.ModelChoiceField) and isinstance(team_field, forms.ModelChoiceField)
        user_field.queryset = shareable_users()
        team_field.queryset = Team.objects.order_by("name")
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-select form-select-sm")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("user") is None) == (data.get("team") is None):
            raise forms.ValidationError(_("Choose a user or a team."))
        return data
