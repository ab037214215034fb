"""Forms of the billing pages (the services validate again and decide)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesflow.billing.choices import AgeingGroup, InvoiceStatus, InvoiceType, PaymentMethod, PaymentStatus
from salesflow.billing.models import LABEL_LENGTH, NOTE_LENGTH, TERMS_LENGTH, TEXT_LENGTH
from salesflow.core.money import MoneyFormField
from salesflow.core.quantities import PercentFormField

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
ALLOCATE_CHOICES = [
    ("auto", _("Oldest due first")),
    ("none", _("Leave unallocated (allocate by hand next)")),
]


class PlanForm(forms.Form):
    terms = forms.CharField(
        label=_("Payment terms"),
        max_length=TERMS_LENGTH,
        help_text=_("E.g. “30/60/10”, “30/60/10 @ 0/60/365”, “net 30”, “12 monthly” or “100”."),
    )
    start = forms.DateField(label=_("Start date"), required=False, widget=DATE)


class InstalmentForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=LABEL_LENGTH, required=False)
    amount = MoneyFormField(label=_("Amount"))
    due_date = forms.DateField(label=_("Due date"), widget=DATE)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=TEXT_LENGTH)


class PaymentForm(forms.Form):
    document = forms.ChoiceField(label=_("Contract or order"), choices=[])
    amount = MoneyFormField(label=_("Amount received"))
    received_on = forms.DateField(label=_("Received on"), widget=DATE)
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices, initial=PaymentMethod.BANK_TRANSFER)
    reference = forms.CharField(label=_("Reference (bank slip no.)"), max_length=TEXT_LENGTH, required=False)
    payer = forms.CharField(label=_("Payer"), max_length=TEXT_LENGTH, required=False)
    note = forms.CharField(
        label=_("Note"), max_length=NOTE_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    allocate = forms.ChoiceField(label=_("Allocation"), choices=ALLOCATE_CHOICES, initial="auto")

    def __init__(self, *args: Any, documents: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["document"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = documents


class AllocationForm(forms.Form):
    """One optional amount per open instalment (``amount_<id>``)."""

    def __init__(self, *args: Any, instalment_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for pk in instalment_ids:
            self.fields[f"amount_{pk}"] = MoneyFormField(label=_("Amount"), required=False)

    def rows(self) -> list[tuple[int, Any]]:
        return [
            (int(name.split("_", 1)[1]), value)
            for name, value in self.cleaned_data.items()
            if name.startswith("amount_") and value
        ]


class InvoiceForm(forms.Form):
    invoice_type = forms.ChoiceField(label=_("Type"), choices=InvoiceType.choices, initial=InvoiceType.VAT_NORMAL)
    amount = MoneyFormField(label=_("Total including tax"))
    tax_rate = PercentFormField(label=_("Tax rate (%)"), initial="13")
    title = forms.CharField(label=_("Buyer"), max_length=TEXT_LENGTH, required=False)
    buyer_tax_id = forms.CharField(label=_("Buyer's tax id"), max_length=30, required=False)
    note = forms.CharField(
        label=_("Note"), max_length=NOTE_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    payments = forms.MultipleChoiceField(label=_("Payments"), choices=[], required=False)

    def __init__(self, *args: Any, payments: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["payments"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = payments


class InvoiceNewForm(InvoiceForm):
    document = forms.ChoiceField(label=_("Contract or order"), choices=[])

    def __init__(self, *args: Any, documents: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["document"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = documents


def _styled(form: forms.Form) -> None:
    """Tabler classes on a filter form's widgets (the filter bars render the bare widgets)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


class PaymentFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *PaymentStatus.choices], required=False
    )
    method = forms.ChoiceField(
        label=_("Method"), choices=[("", _("Any method")), *PaymentMethod.choices], required=False
    )
    unallocated = forms.BooleanField(label=_("Only with an unallocated remainder"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _styled(self)


class InvoiceFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *InvoiceStatus.choices], required=False
    )
    invoice_type = forms.ChoiceField(
        label=_("Type"), choices=[("", _("Any type")), *InvoiceType.choices], required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _styled(self)


class AgeingForm(forms.Form):
    group = forms.ChoiceField(label=_("Group by"), choices=AgeingGroup.choices, required=False)
    team = forms.TypedChoiceField(label=_("Team"), choices=[], required=False, coerce=int, empty_value=None)
    owner = forms.TypedChoiceField(label=_("Sales rep"), choices=[], required=False, coerce=int, empty_value=None)
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)
    as_of = forms.DateField(label=_("As of"), required=False, widget=DATE)

    def __init__(self, *args: Any, teams: list[tuple[int, str]], owners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team = self.fields["team"]
        owner = self.fields["owner"]
        assert isinstance(team, forms.TypedChoiceField) and isinstance(owner, forms.TypedChoiceField)
        team.choices = [("", _("Every team")), *teams]
        owner.choices = [("", _("Every rep")), *owners]
        _styled(self)


class ReminderSettingsForm(forms.Form):
    """The reminder settings page: days as text ("7, 1"); the service validates them (and
    names the field) so the page and the API answer the same."""

    payment_days_before = forms.CharField(
        label=_("Payment reminders: days before the due date"),
        max_length=100,
        required=False,
        help_text=_("Whole numbers from 1 to 365, separated by commas, e.g. 7, 1. Leave empty for none."),
    )
    payment_days_after = forms.CharField(
        label=_("Payment reminders: days after the due date"),
        max_length=100,
        required=False,
        help_text=_("Overdue reminders, e.g. 1, 7, 30. Leave empty for none."),
    )
    renewal_reminder_days = forms.CharField(
        label=_("Contract renewal reminder: days before the end date"),
        max_length=10,
        help_text=_("A whole number from 1 to 3650."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control"
