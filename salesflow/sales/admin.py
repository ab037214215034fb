"""Administrator configuration of pipelines, stages, lost reasons and competitors (data, not code)."""

from __future__ import annotations

from django.contrib import admin

from salesflow.sales.models import Competitor, LostReason, Pipeline, Stage


class StageInline(admin.TabularInline[Stage, Pipeline]):
    model = Stage
    extra = 0
    fields = [
        "position",
        "code",
        "name_zh",
        "name_en",
        "probability",
        "forecast_category",
        "kind",
        "rotting_days",
        "guidance_zh",
        "guidance_en",
    ]
    ordering = ["position"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin[Pipeline]):
    list_display = ["name_zh", "name_en", "code", "is_default", "is_active", "position"]
    inlines = [StageInline]


@admin.register(LostReason)
class LostReasonAdmin(admin.ModelAdmin[LostReason]):
    list_display = ["name_zh", "name_en", "code", "is_active", "position"]


@admin.register(Competitor)
class CompetitorAdmin(admin.ModelAdmin[Competitor]):
    list_display = ["name", "website"]
    search_fields = ["name"]
