"""Administrators enter dated exchange rates; every change goes through the audited services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from salesflow.core.errors import ServiceError
from salesflow.core.models import ExchangeRate
from salesflow.core.money import company_currency, currency_choices
from salesflow.core.services import exchange_rate_create, exchange_rate_delete, exchange_rate_update


def _foreign_currencies() -> list[tuple[str, str]]:
    return [(code, label) for code, label in currency_choices() if code != company_currency()]


class ExchangeRateForm(forms.ModelForm):  # type: ignore[type-arg]
    """Parses the input; uniqueness of (currency, day) and the positive rate are checked by
    the model constraints, everything else again by the service."""

    currency = forms.ChoiceField(label=_("Currency"), choices=_foreign_currencies)

    class Meta:
        model = ExchangeRate
        fields = ["currency", "rate", "valid_from", "note"]
        widgets = {"valid_from": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin[ExchangeRate]):
    form = ExchangeRateForm
    list_display = ["currency", "rate", "valid_from", "note", "updated_at"]
    list_filter = ["currency"]
    date_hierarchy = "valid_from"
    ordering = ["currency", "-valid_from"]

    def save_model(self, request: HttpRequest, obj: ExchangeRate, form: Any, change: bool) -> None:
        values = {key: form.cleaned_data[key] for key in ("currency", "rate", "valid_from", "note")}
        try:
            if change:
                stored = ExchangeRate.objects.get(pk=obj.pk)
                exchange_rate_update(actor=request.user, exchange_rate=stored, **values)
            else:
                obj.pk = exchange_rate_create(actor=request.user, **values).pk
        except ServiceError as exc:  # e.g. a concurrent rate for the same day
            self.message_user(request, str(exc.message), level=messages.ERROR)

    def delete_model(self, request: HttpRequest, obj: ExchangeRate) -> None:
        exchange_rate_delete(actor=request.user, exchange_rate=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ExchangeRate]) -> None:
        for row in queryset:
            exchange_rate_delete(actor=request.user, exchange_rate=row)
