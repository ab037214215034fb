"""Forms of the order pages. They parse input only; the services validate and decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesflow.attachments.filetypes import ALLOWED_EXTENSIONS
from salesflow.orders.choices import FulfilmentStatus
from salesflow.orders.models import OrderLine, OrderStatus
from salesflow.orders.services import NOTE_LENGTH, REASON_LENGTH
from salesflow.users.models import User

SORT_CHOICES = [
    ("-created", _("Newest first")),
    ("created", _("Oldest first")),
    ("expected_date", _("Expected date, earliest first")),
    ("-expected_date", _("Expected date, latest first")),
    ("-total", _("Total, largest first")),
    ("total", _("Total, smallest first")),
    ("number", _("Number")),
]

_DATE = forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")


class OrderFilterForm(forms.Form):
    """The list's filters (``?status=&fulfilment=&owner=&account=&expected_from=&expected_to=&q=&sort=``)."""

    q = forms.CharField(label=_("Number"), required=False, max_length=30)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *OrderStatus.choices])
    fulfilment = forms.ChoiceField(
        label=_("Fulfilment"), required=False, choices=[("", _("All")), *FulfilmentStatus.choices]
    )
    owner = forms.ModelChoiceField(label=_("Owner"), required=False, queryset=User.objects.none(), empty_label=_("All"))
    account = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    expected_from = forms.DateField(label=_("Expected from"), required=False, widget=_DATE)
    expected_to = forms.DateField(label=_("Expected to"), required=False, widget=_DATE)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args: Any, owners: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]
        for name in ("status", "fulfilment", "owner", "sort"):
            self.fields[name].widget.attrs["class"] = "form-select"
        self.fields["q"].widget.attrs["class"] = "form-control"


class HandOffForm(forms.Form):
    fulfilment_status = forms.ChoiceField(label=_("Fulfilment status"), choices=FulfilmentStatus.choices)
    expected_date = forms.DateField(label=_("Expected date"), required=False, widget=_DATE)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=NOTE_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=REASON_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))


class LineForm(forms.Form):
    """A draft order's line: the service parses the values (exact quantities and amounts)."""

    quantity = forms.CharField(label=_("Quantity"), max_length=30)
    unit_price = forms.CharField(label=_("Unit price"), max_length=30)
    discount_percent = forms.CharField(label=_("Discount (%)"), max_length=10)
    tax_rate = forms.CharField(label=_("Tax rate (%)"), max_length=10)


class DeliveryForm(forms.Form):
    """A delivery: the date, a note and one quantity field ``line_<id>`` per order line
    that still has something open (the service checks each against the open quantity)."""

    delivered_on = forms.DateField(label=_("Delivered on"), widget=_DATE)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=NOTE_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, lines: list[OrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_lines = lines
        for line in lines:
            self.fields[f"line_{line.pk}"] = forms.CharField(
                label=line.name,
                required=False,
                max_length=30,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control text-end"}),
            )

    def line_quantities(self) -> dict[object, object]:
        return {line.pk: self.cleaned_data.get(f"line_{line.pk}", "") for line in self.order_lines}

    def rows(self) -> list[tuple[OrderLine, Any]]:
        return [(line, self[f"line_{line.pk}"]) for line in self.order_lines]


class ProofForm(forms.Form):
    """A date and a file (installation or customer acceptance)."""

    day = forms.DateField(label=_("Date"), widget=_DATE)
    file = forms.FileField(
        label=_("File"),
        allow_empty_file=True,
        max_length=None,
        widget=forms.FileInput(attrs={"accept": ",".join(f".{ext}" for ext in ALLOWED_EXTENSIONS)}),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=NOTE_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )
