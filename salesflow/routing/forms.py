"""Forms of the routing settings pages (the services validate again; these shape input)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.parties.choices import Industry, SourceChannel, SubChannel
from salesflow.routing.models import (
    CAMPAIGN_LENGTH,
    CONSENT_LENGTH,
    FORM_FIELDS,
    MESSAGE_LENGTH,
    NAME_LENGTH,
    ORIGINS_LENGTH,
    URL_LENGTH,
    AssignmentRule,
    Strategy,
    Weekdays,
)
from salesflow.users.choices import Role
from salesflow.users.models import Team, Territory, User


def field_labels() -> dict[str, str]:
    """The visitor-facing label of each field a public form may show."""
    return {
        "name": str(_("Your name")),
        "company_name": str(_("Company")),
        "title": str(pgettext_lazy("job title", "Position")),
        "mobile": str(_("Mobile")),
        "phone": str(_("Phone")),
        "email": str(_("Email")),
        "wechat": str(_("WeChat ID")),
        "need": str(_("How can we help?")),
    }


def _field_choices() -> list[tuple[str, str]]:
    labels = field_labels()
    return [(name, labels[name]) for name in FORM_FIELDS]


def _blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—"), *choices]


def _sales_users() -> Any:
    return User.objects.filter(is_active=True, role__in=[Role.REP, Role.MANAGER, Role.ADMIN]).order_by("username")


class LeadCaptureFormForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("form", "Name"), max_length=NAME_LENGTH)
    source_channel = forms.ChoiceField(label=_("Source channel"), choices=SourceChannel.choices)
    sub_channel = forms.ChoiceField(label=_("Sub-channel"), choices=_blank(SubChannel.choices), required=False)
    campaign = forms.CharField(label=_("Campaign"), max_length=CAMPAIGN_LENGTH, required=False)
    shown_fields = forms.MultipleChoiceField(
        label=_("Fields shown"), choices=_field_choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    required_fields = forms.MultipleChoiceField(
        label=_("Required fields"), choices=_field_choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    title = forms.CharField(label=_("Page title"), max_length=NAME_LENGTH, required=False)
    intro = forms.CharField(
        label=_("Introduction"), max_length=MESSAGE_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    consent_text = forms.CharField(
        label=_("Consent text"),
        max_length=CONSENT_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("When given, visitors must tick it; the exact text, time and address are kept with the lead."),
    )
    thank_you_message = forms.CharField(
        label=_("Thank-you message"),
        max_length=MESSAGE_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    redirect_url = forms.CharField(
        label=_("Redirect URL"),
        max_length=URL_LENGTH,
        required=False,
        help_text=_("Instead of the thank-you page, send visitors to this http:// or https:// address."),
    )
    allowed_origins = forms.CharField(
        label=_("Allowed embedding origins"),
        max_length=ORIGINS_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Websites that may show the form in an iframe, one per line, e.g. https://www.example.com."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class RuleForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("rule", "Name"), max_length=NAME_LENGTH)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    territory = forms.ModelChoiceField(
        label=_("Territory (with its sub-regions)"), queryset=Territory.objects.order_by("name"), required=False
    )
    industry = forms.ChoiceField(label=_("Industry"), choices=_blank(Industry.choices), required=False)
    source_channel = forms.ChoiceField(label=_("Source channel"), choices=_blank(SourceChannel.choices), required=False)
    campaign_contains = forms.CharField(label=_("Campaign contains"), max_length=CAMPAIGN_LENGTH, required=False)
    strategy = forms.ChoiceField(label=_("Strategy"), choices=Strategy.choices)
    user = forms.ModelChoiceField(label=_("User"), queryset=_sales_users(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.order_by("name"), required=False)
    members = forms.ModelMultipleChoiceField(label=_("Users"), queryset=_sales_users(), required=False)
    capacity = forms.IntegerField(
        label=_("Capacity (open leads per rep)"), min_value=1, max_value=100_000, required=False
    )
    respect_working_hours = forms.BooleanField(label=_("Respect working hours"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # querysets are evaluated per request (users and teams change)
        self.fields["user"].queryset = _sales_users()  # type: ignore[attr-defined]
        self.fields["members"].queryset = _sales_users()  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(rule: AssignmentRule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "is_active": rule.is_active,
            "territory": rule.territory_id,
            "industry": rule.industry,
            "source_channel": rule.source_channel,
            "campaign_contains": rule.campaign_contains,
            "strategy": rule.strategy,
            "user": rule.user_id,
            "team": rule.team_id,
            "members": [m.pk for m in rule.members.all()],
            "capacity": rule.capacity,
            "respect_working_hours": rule.respect_working_hours,
        }


class SlaForm(forms.Form):
    source_channel = forms.ChoiceField(label=_("Source channel"), choices=SourceChannel.choices)
    sub_channel = forms.ChoiceField(label=_("Sub-channel"), choices=_blank(SubChannel.choices), required=False)
    minutes = forms.IntegerField(label=_("Minutes"), min_value=1, max_value=525_600)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class HoursForm(forms.Form):
    user = forms.ModelChoiceField(label=_("User"), queryset=_sales_users(), required=False)
    rule = forms.ModelChoiceField(
        label=_("Assignment rule"), queryset=AssignmentRule.objects.order_by("position"), required=False
    )
    weekdays = forms.MultipleChoiceField(
        label=_("Weekdays"),
        choices=Weekdays.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=["1", "2", "3", "4", "5"],
    )
    start = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end = forms.TimeField(label=_("To"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _sales_users()  # type: ignore[attr-defined]
        self.fields["rule"].queryset = AssignmentRule.objects.order_by("position")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("user") is None) == (data.get("rule") is None):
            raise forms.ValidationError(_("Choose a user or a rule (one of them)."))
        return data


class PreviewForm(forms.Form):
    """The rules' dry run: describe a lead, see who would get it now."""

    source_channel = forms.ChoiceField(label=_("Source channel"), choices=SourceChannel.choices)
    industry = forms.ChoiceField(label=_("Industry"), choices=_blank(Industry.choices), required=False)
    region = forms.ModelChoiceField(label=_("Region"), queryset=Territory.objects.order_by("name"), required=False)
    campaign = forms.CharField(label=_("Campaign"), max_length=CAMPAIGN_LENGTH, required=False)
