from datetime import datetime
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from salesflow.core.clientip import client_ip
from salesflow.users.models import ShareAccess, Team, User, time_zone_names
from salesflow.users.selectors import login_locked_until, shareable_users
from salesflow.users.services import login_failure_record, login_success_record


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


class PreferencesForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        widget=forms.Select(attrs={"data-searchable": ""}),
        help_text=_("“Today”, due and overdue are computed in this zone."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["time_zone"].choices = [(name, name) for name in sorted(time_zone_names())]  # type: ignore[attr-defined]


def client_address(request: HttpRequest | None) -> str:
    """The address failures are counted for: ``core.clientip.client_ip`` (``REMOTE_ADDR``, or
    behind a trusted proxy the rightmost untrusted ``X-Forwarded-For`` address); empty when
    there is no request or no address."""
    return (client_ip(request.META) or "") if request is not None else ""


class ThrottledLoginMixin:
    """Sign-in that refuses a locked username or address before checking the password, and
    counts failed attempts (see ``login_failure_record``)."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def _locked(self, until: datetime) -> ValidationError:
        when = formats.time_format(timezone.localtime(until), "H:i")
        return ValidationError(
            _("Too many failed sign-in attempts. Sign-in is locked until %(time)s; try again then."),
            code="locked",
            params={"time": when},
        )

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        address = client_address(self.request)
        until = login_locked_until(username=username, address=address)
        if until is not None:
            raise self._locked(until)
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except ValidationError as exc:
            # Only a wrong password counts (the admin refuses non-staff with the same code).
            if getattr(exc, "code", None) == "invalid_login" and getattr(self, "user_cache", None) is None:
                until = login_failure_record(username=username, address=address)
                if until is not None:
                    raise self._locked(until) from None
            raise
        if getattr(self, "user_cache", None) is not None:  # not when the password was left out
            login_success_record(username=username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    """The /login/ form."""


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The /admin/login/ form."""


class SavedViewForm(forms.Form):
    """Save the list's current filter and sort as a named view (issue 6)."""

    list = forms.CharField(widget=forms.HiddenInput, max_length=40)
    query = forms.CharField(widget=forms.HiddenInput, required=False, max_length=1000)
    name = forms.CharField(
        label=_("View name"),
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm", "maxlength": "100"}),
    )
    shared_team = forms.TypedChoiceField(
        label=_("Share with team"), required=False, coerce=int, empty_value=None, choices=[]
    )

    def __init__(self, *args: Any, teams: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["shared_team"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Only me")), *((t.pk, str(t)) for t in teams)]
        field.widget.attrs["class"] = "form-select form-select-sm"


class SavedViewRenameForm(forms.Form):
    name = forms.CharField(label=_("View name"), max_length=100)
