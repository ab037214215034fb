"""Forms of the contract pages. They parse and bound the input; the services validate the
rest (and name fields the forms show). Lines come as numbered rows ``line-N-<field>``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from salesflow.contracts.models import ContractStatus
from salesflow.contracts.selectors import CONTRACT_SORTS, ENDING_WITHIN_MAX
from salesflow.core.money import currency_choices

LINE_FIELDS = ("product_id", "name_zh", "unit", "quantity", "unit_price", "discount_percent", "tax_rate")
MAX_FORM_LINES = 50
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ContractFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=200, required=False)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *ContractStatus.choices], required=False
    )
    owner = forms.TypedChoiceField(label=_("Owner"), coerce=int, required=False, empty_value=None)
    ending_within = forms.IntegerField(
        label=_("Ending within (days)"), min_value=0, max_value=ENDING_WITHIN_MAX, required=False
    )
    account = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    sort = forms.ChoiceField(
        required=False,
        choices=[(k, k) for key in CONTRACT_SORTS for k in (key, f"-{key}")],
        widget=forms.HiddenInput,
    )

    def __init__(self, *args: Any, owners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", _("Any owner")), *owners]  # type: ignore[attr-defined]
        for name in ("q", "ending_within"):
            self.fields[name].widget.attrs["class"] = "form-control"
        for name in ("status", "owner"):
            self.fields[name].widget.attrs["class"] = "form-select"


class TermsForm(forms.Form):
    start_date = forms.DateField(label=_("Start date"), required=False, widget=DATE_WIDGET)
    end_date = forms.DateField(label=_("End date"), required=False, widget=DATE_WIDGET)
    payment_terms = forms.CharField(
        label=_("Payment terms"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    delivery_terms = forms.CharField(
        label=_("Delivery terms"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    special_clauses = forms.CharField(
        label=_("Special clauses"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Anything here makes the terms non-standard for approval."),
    )
    non_standard_terms = forms.BooleanField(label=_("Non-standard terms"), required=False)

    def terms(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in TermsForm.base_fields}


class ContractForm(TermsForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    account = forms.TypedChoiceField(label=_("Account"), coerce=int)
    opportunity = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    currency = forms.ChoiceField(label=_("Currency"), choices=currency_choices)
    prices_include_tax = forms.BooleanField(label=_("Prices include tax"), required=False)

    field_order = ["title", "account", "currency", "prices_include_tax"]

    def __init__(self, *args: Any, accounts: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if accounts is None:
            del self.fields["account"]
            del self.fields["currency"]
            del self.fields["opportunity"]
        else:
            self.fields["account"].choices = [("", "—"), *accounts]  # type: ignore[attr-defined]


class FromQuoteForm(TermsForm):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)

    field_order = ["title"]


class SignForm(forms.Form):
    signed_on = forms.DateField(label=_("Signed on"), widget=DATE_WIDGET)
    file = forms.FileField(label=_("Signed contract file"))


class TerminateForm(forms.Form):
    """Early termination, on the contract page beside the change-order form: its own element
    ids (``terminate_reason``), so the two ``reason`` fields' labels stay apart."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "terminate_%s")
        super().__init__(*args, **kwargs)

    terminated_on = forms.DateField(label=_("Terminated on"), widget=DATE_WIDGET)
    reason = forms.CharField(
        label=_("Reason for termination"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )


class AmendmentForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the change"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class AmendmentEditForm(TermsForm):
    reason = forms.CharField(
        label=_("Reason for the change"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    field_order = ["reason"]


def lines_from_post(data: QueryDict) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The numbered line rows of a form (``line-0-name_zh``…); a row without a product and a
    name is blank and skipped. Values stay text: the service parses them."""
    lines: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {}
    for index in range(MAX_FORM_LINES):
        row = {name: (data.get(f"line-{index}-{name}") or "").strip() for name in LINE_FIELDS}
        if not row["product_id"] and not row["name_zh"]:
            continue
        line: dict[str, Any] = {k: v for k, v in row.items() if v and k != "product_id"}
        if row["product_id"]:
            try:
                line["product_id"] = int(row["product_id"])
            except ValueError:
                errors[f"lines.{len(lines)}.product_id"] = [str(_("Select an active product."))]
        lines.append(line)
    return lines, errors
