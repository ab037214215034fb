"""Forms of the public pools pages (the services validate again and decide)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesflow.catalogue.models import ProductCategory
from salesflow.parties.choices import Grade
from salesflow.pools.choices import RecordKind
from salesflow.pools.models import DESCRIPTION_LENGTH, MAX_CAP, MAX_DAYS, NAME_LENGTH, REASON_LENGTH, Pool
from salesflow.users.choices import Role
from salesflow.users.models import Team, User

_GRADES = [("", _("Every grade")), *Grade.choices]


class ReleaseForm(forms.Form):
    pool = forms.ModelChoiceField(queryset=Pool.objects.none(), required=False, label=_("Pool"), empty_label=None)
    reason = forms.CharField(label=_("Reason"), max_length=REASON_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, pools: list[Pool] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["pool"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Pool.objects.filter(pk__in=[p.pk for p in pools or []]).order_by("position", "name")


class PoolForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_LENGTH)
    description = forms.CharField(label=_("Description"), max_length=DESCRIPTION_LENGTH, required=False)
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"), required=False, label=_("Member teams")
    )
    holds_leads = forms.BooleanField(label=_("Holds leads"), required=False, initial=True)
    holds_accounts = forms.BooleanField(label=_("Holds accounts"), required=False, initial=True)
    protection_days = forms.IntegerField(
        label=_("Protection period (days)"), min_value=0, max_value=MAX_DAYS, initial=30
    )
    position = forms.IntegerField(label=_("Display order"), min_value=0, max_value=MAX_DAYS, initial=0)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class CapForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=[("", "—"), *Role.choices], required=False)
    user = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("display_name", "username"),
        required=False,
        label=_("User"),
    )
    kind = forms.ChoiceField(label=_("Record type"), choices=RecordKind.choices)
    grade = forms.ChoiceField(label=_("Grade"), choices=_GRADES, required=False)
    max_count = forms.IntegerField(label=_("Maximum held"), min_value=0, max_value=MAX_CAP)


class RecycleRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_LENGTH)
    kind = forms.ChoiceField(label=_("Record type"), choices=RecordKind.choices)
    grade = forms.ChoiceField(label=_("Grade"), choices=_GRADES, required=False)
    product_line = forms.ModelChoiceField(
        queryset=ProductCategory.objects.filter(active=True).order_by("code"),
        required=False,
        label=_("Product line"),
        empty_label=_("Every product line"),
        help_text=_("Accounts only: accounts with a deal in this product line; only such deals count."),
    )
    no_follow_up_days = forms.IntegerField(label=_("No follow-up for (days)"), min_value=1, max_value=MAX_DAYS)
    no_opportunity_days = forms.IntegerField(
        label=_("No opportunity for (days)"), min_value=0, max_value=MAX_DAYS, required=False
    )
    target_pool = forms.ModelChoiceField(queryset=Pool.objects.order_by("position", "name"), label=_("Target pool"))
    warn_days_before = forms.IntegerField(
        label=_("Warn the owner (days before)"), min_value=0, max_value=MAX_DAYS, initial=3
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
