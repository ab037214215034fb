"""Forms of customer protection: list upload and search, collision decision."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from salesflow.protection.choices import Decision, TransferDirection
from salesflow.protection.models import NOTE_LENGTH, SOURCE_LENGTH


class ListUploadForm(forms.Form):
    source_system = forms.CharField(
        label=_("Source system"),
        max_length=SOURCE_LENGTH,
        initial="ERP",
        help_text=_("Loading a list from the same source again updates its rows instead of duplicating them."),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    file = forms.FileField(
        label=_("CSV or XLSX file"),
        help_text=_(
            "Recognised headers: 客户名称/Customer name, 统一社会信用代码/Credit code, 负责人/Owner, "
            "销售处/Sales office, 联系人/Contact, 电话/Phone, 客户编号/External id."
        ),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,.xlsx"}),
    )


class ListSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("Name, credit code, owner, office")}),
    )


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=Decision.choices, widget=forms.RadioSelect(attrs={"class": "form-check-input"})
    )
    direction = forms.ChoiceField(
        label=_("Transfer direction"),
        choices=[("", "—"), *TransferDirection.choices],
        required=False,
        help_text=_("A company moves with its contacts and open deals; won and lost deals keep their owner."),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_LENGTH,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )
