"""Forms of the quote pages. They only shape input; the services validate and decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.quotes.models import QuoteLanguage, QuoteStatus

LINE_FIELDS = (
    "product_id",
    "code",
    "name_zh",
    "name_en",
    "unit",
    "quantity",
    "unit_price",
    "discount_percent",
    "tax_rate",
)
BLANK_ROWS = 3


class QuoteForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    contact = forms.TypedChoiceField(label=_("Contact"), required=False, coerce=int, empty_value=None)
    valid_until = forms.DateField(
        label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    language = forms.ChoiceField(label=_("Language"), choices=QuoteLanguage.choices)
    prices_include_tax = forms.BooleanField(label=_("Prices include tax (含税价)"), required=False)
    terms = forms.CharField(label=_("Terms"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, contacts: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].choices = [("", "—"), *contacts]  # type: ignore[attr-defined]
        for name, field in self.fields.items():
            css = (
                "form-check-input"
                if name == "prices_include_tax"
                else "form-select"
                if name in ("contact", "language")
                else "form-control"
            )
            field.widget.attrs.setdefault("class", css)
            field.widget.attrs["data-testid"] = f"quote-{name}"


def line_rows(data: QueryDict) -> list[dict[str, Any]]:
    """The posted line rows (``line-<field>`` lists), blank rows dropped, as service specs."""
    columns = {name: data.getlist(f"line-{name}") for name in LINE_FIELDS}
    count = max((len(values) for values in columns.values()), default=0)
    rows: list[dict[str, Any]] = []
    for index in range(min(count, 201)):
        raw = {name: (values[index] if index < len(values) else "") for name, values in columns.items()}
        raw = {name: str(value)[:200].strip() for name, value in raw.items()}
        if not any(raw[name] for name in ("product_id", "name_zh", "name_en", "unit_price")):
            continue
        spec: dict[str, Any] = {}
        product = raw.pop("product_id")
        spec["product_id"] = int(product) if product.isdigit() and len(product) < 19 else (product or None)
        for name, value in raw.items():
            if name in ("unit_price", "discount_percent", "tax_rate"):
                spec[name] = value or None
            elif name == "quantity":
                spec[name] = value or "1"
            else:
                spec[name] = value
        rows.append(spec)
    return rows


class SendForm(forms.Form):
    to = forms.CharField(
        label=pgettext_lazy("email", "To"),
        max_length=2000,
        help_text=_("One or more email addresses, separated by commas."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=QuoteLanguage.choices)
    message = forms.CharField(
        label=_("Message"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("class", "form-select" if name == "language" else "form-control")
            field.widget.attrs["data-testid"] = f"send-{name}"


class DecisionForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=100)
    reason = forms.CharField(
        label=_("Comment"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CompanyProfileForm(forms.Form):
    name_zh = forms.CharField(label=_("Company name (Chinese)"), max_length=200, required=False)
    name_en = forms.CharField(label=_("Company name (English)"), max_length=200, required=False)
    address_zh = forms.CharField(label=_("Address (Chinese)"), max_length=300, required=False)
    address_en = forms.CharField(label=_("Address (English)"), max_length=300, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    tax_id = forms.CharField(label=_("Tax id"), max_length=30, required=False)
    bank_name = forms.CharField(label=_("Bank"), max_length=200, required=False)
    bank_account = forms.CharField(label=_("Bank account"), max_length=60, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("class", "form-control")
            field.widget.attrs["data-testid"] = f"company-{name}"


STATUS_CHOICES = [("", _("All statuses")), *QuoteStatus.choices]


class QuoteFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)
    account = forms.IntegerField(
        label=_("Account"), required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )
    created_from = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    created_to = forms.DateField(
        label=_("Created to"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    q = forms.CharField(label=_("Search"), max_length=200, required=False)

    def __init__(self, *args: Any, owners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", _("All owners")), *owners]  # type: ignore[attr-defined]
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("class", "form-select" if name in ("status", "owner") else "form-control")
            field.widget.attrs["data-testid"] = f"filter-{name}"
