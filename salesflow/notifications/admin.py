"""Administrators configure group robots here; deliveries are shown read-only for support."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from salesflow.notifications.kinds import KIND_CHOICES
from salesflow.notifications.models import Delivery, RobotChannel


class RobotChannelForm(forms.ModelForm[RobotChannel]):
    webhook_url = forms.URLField(label=_("webhook URL"), max_length=500, assume_scheme="https")
    kinds = forms.MultipleChoiceField(choices=KIND_CHOICES, widget=forms.CheckboxSelectMultiple, required=False)

    class Meta:
        model = RobotChannel
        fields = ["name", "provider", "webhook_url", "secret", "team", "kinds", "allow_host", "is_active"]


@admin.register(RobotChannel)
class RobotChannelAdmin(admin.ModelAdmin[RobotChannel]):
    form = RobotChannelForm
    list_display = ["name", "provider", "team", "is_active"]
    list_filter = ["provider", "is_active"]

    def has_module_permission(self, request: Any) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    list_display = ["notification", "channel", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status"]
    readonly_fields = ["notification", "channel", "robot", "status", "attempts", "last_error", "sent_at", "created_at"]

    def has_add_permission(self, request: Any) -> bool:
        return False
