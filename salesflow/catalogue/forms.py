"""Forms of the catalogue pages (the services validate again and decide)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesflow.catalogue.choices import Channel
from salesflow.catalogue.models import CustomerGroup, Product, ProductCategory, ProductKind
from salesflow.core.money import MoneyFormField, currency_choices
from salesflow.core.quantities import PercentFormField, QuantityFormField
from salesflow.parties.choices import Grade

_ANY_CHANNEL = [("", _("Every channel")), *Channel.choices]
_ANY_GRADE = [("", _("Every grade")), *Grade.choices]


class _CurrencyMixin(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "currency" in self.fields:
            field = self.fields["currency"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = currency_choices()


class ProductFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        label=_("Search"),
        widget=forms.TextInput(attrs={"placeholder": _("Code or name"), "type": "search"}),
    )
    category = forms.ModelChoiceField(
        queryset=ProductCategory.objects.order_by("code"), required=False, empty_label=_("Every product line")
    )
    kind = forms.ChoiceField(choices=[("", _("Products and services")), *ProductKind.choices], required=False)
    status = forms.ChoiceField(
        choices=[("", _("Active")), ("inactive", _("Inactive")), ("all", _("All"))], required=False
    )


class ProductForm(_CurrencyMixin):
    code = forms.CharField(label=_("Code"), max_length=40)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200)
    name_en = forms.CharField(label=_("Name (English)"), max_length=200)
    kind = forms.ChoiceField(label=_("Type"), choices=ProductKind.choices)
    unit = forms.CharField(label=_("Unit"), max_length=20, help_text=_("e.g. 台, 套, 年, 人天"))
    category = forms.ModelChoiceField(
        label=_("Product line"), queryset=ProductCategory.objects.order_by("code"), required=False
    )
    tax_rate = PercentFormField(label=_("Tax rate (%)"), initial="13")
    list_price = MoneyFormField(label=_("List price (excl. tax)"))
    currency = forms.ChoiceField(label=_("Currency"), choices=[])
    cost = MoneyFormField(label=_("Cost"), required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    description = forms.CharField(
        label=_("Description"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, show_cost: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not show_cost:
            del self.fields["cost"]


class CategoryForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=40)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=100)
    name_en = forms.CharField(label=_("Name (English)"), max_length=100)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class GroupForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=40)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=100)
    name_en = forms.CharField(label=_("Name (English)"), max_length=100)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    description = forms.CharField(
        label=_("Description"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PriceListForm(_CurrencyMixin):
    code = forms.SlugField(label=_("Code"), max_length=40)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=100)
    name_en = forms.CharField(label=_("Name (English)"), max_length=100)
    currency = forms.ChoiceField(label=_("Currency"), choices=[])
    channel = forms.ChoiceField(label=_("Channel"), choices=_ANY_CHANNEL, required=False)
    customer_group = forms.ModelChoiceField(
        label=_("Customer group"),
        queryset=CustomerGroup.objects.order_by("code"),
        required=False,
        empty_label=_("Every customer"),
    )
    valid_from = forms.DateField(label=_("Valid from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(label=_("Valid to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    priority = forms.IntegerField(label=_("Priority"), initial=0, min_value=-1_000_000, max_value=1_000_000)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class PriceItemForm(forms.Form):
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.order_by("code"))
    unit_price = MoneyFormField(label=_("Unit price (excl. tax)"))


class TierForm(forms.Form):
    min_quantity = QuantityFormField(label=_("From quantity"))
    unit_price = MoneyFormField(label=_("Unit price"), required=False)
    discount_percent = PercentFormField(label=_("or discount (%)"), required=False)


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    percent = PercentFormField(label=_("Discount (%)"))
    priority = forms.IntegerField(label=_("Priority"), initial=0, min_value=-1_000_000, max_value=1_000_000)
    customer_group = forms.ModelChoiceField(
        label=_("Customer group"),
        queryset=CustomerGroup.objects.order_by("code"),
        required=False,
        empty_label=_("Every customer"),
    )
    grade = forms.ChoiceField(label=_("Customer grade"), choices=_ANY_GRADE, required=False)
    category = forms.ModelChoiceField(
        label=_("Product line"),
        queryset=ProductCategory.objects.order_by("code"),
        required=False,
        empty_label=_("Every product line"),
    )
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.order_by("code"), required=False, empty_label=_("Every product")
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=_ANY_CHANNEL, required=False)
    min_quantity = QuantityFormField(label=_("Minimum quantity"), required=False)
    valid_from = forms.DateField(label=_("Valid from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(label=_("Valid to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class LineAddForm(forms.Form):
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.none())
    quantity = QuantityFormField(label=_("Quantity"), initial="1")
    unit_price = MoneyFormField(label=_("Unit price"), required=False, help_text=_("Empty: from the price list"))
    discount_percent = PercentFormField(label=_("Discount (%)"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.DIRECT)

    def __init__(self, *args: Any, products: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["product"]
        assert isinstance(field, forms.ModelChoiceField)
        if products is not None:
            field.queryset = products


class LineEditForm(forms.Form):
    quantity = QuantityFormField(label=_("Quantity"))
    unit_price = MoneyFormField(label=_("Unit price"))
    discount_percent = PercentFormField(label=_("Discount (%)"))
