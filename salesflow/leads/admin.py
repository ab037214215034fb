"""Administrator configuration of lead disqualify reasons."""

from __future__ import annotations

from django.contrib import admin

from salesflow.leads.models import DisqualifyReason


@admin.register(DisqualifyReason)
class DisqualifyReasonAdmin(admin.ModelAdmin[DisqualifyReason]):
    list_display = ["name_zh", "name_en", "code", "is_active", "position"]
