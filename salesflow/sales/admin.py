"""Administrator configuration of pipelines, stages, lost reasons and competitors (data, not code).

Pipelines and stages are saved through ``salesflow.sales.config_services`` (audited,
checked against the deals that use them); the admin only parses the forms. A refused
change is shown as an error message and nothing is saved.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from salesflow.core.errors import ServiceError
from salesflow.sales.config_services import (
    PIPELINE_FIELDS,
    STAGE_FIELDS,
    pipeline_create,
    pipeline_delete,
    pipeline_update,
    pipeline_update_errors,
    stage_create,
    stage_delete,
    stage_reorder,
    stage_update,
    stage_update_errors,
)
from salesflow.sales.models import Competitor, LostReason, Pipeline, Stage, StageDwellStat, StallEscalationStep
from salesflow.users.models import User


def _error_text(exc: ServiceError) -> str:
    details = [m for msgs in exc.field_errors.values() for m in msgs]
    return " ".join([str(exc.message), *details]) if details else str(exc.message)


class StageInlineFormSet(BaseInlineFormSet[Stage, Pipeline, forms.ModelForm[Stage]]):
    """Shows the service's refusals (kind change or hiding while deals sit in a stage)
    next to the stage instead of after the submit."""

    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            if not form.has_changed() or form.instance.pk is None or form.cleaned_data.get("DELETE"):
                continue
            values = {f: form.cleaned_data.get(f) for f in form.changed_data if f in ("kind", "is_active")}
            for field, errors in stage_update_errors(form.instance, values).items():
                for error in errors:
                    form.add_error(field, error)


class StageInline(admin.TabularInline[Stage, Pipeline]):
    model = Stage
    formset = StageInlineFormSet
    extra = 0
    fields = [
        "position",
        "code",
        "name_zh",
        "name_en",
        "probability",
        "forecast_category",
        "kind",
        "is_active",
        "is_bant_gate",
        "rotting_days",
        "guidance_zh",
        "guidance_en",
    ]
    ordering = ["position"]
    # The stage table fits a 1366–1440 px screen: short guidance boxes and narrow number fields
    # (sales/static/sales/admin.css), instead of Django's 40×10 textareas per row.
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 24})},
        models.SlugField: {"widget": forms.TextInput(attrs={"size": 12})},
    }

    class Media:
        css = {"all": ["sales/admin.css"]}


class PipelineAdminForm(forms.ModelForm[Pipeline]):
    """Shows the default-pipeline refusals next to the checkbox."""

    class Meta:
        model = Pipeline
        fields = ["code", "name_zh", "name_en", "is_default", "is_active", "position"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is not None:
            values = {f: cleaned.get(f) for f in self.changed_data if f in ("is_default", "is_active")}
            for field, errors in pipeline_update_errors(self.instance, values).items():
                for error in errors:
                    self.add_error(field, error)
        return cleaned


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin[Pipeline]):
    list_display = ["name_zh", "name_en", "code", "is_default", "is_active", "position"]
    inlines = [StageInline]

    form = PipelineAdminForm

    # A refusal the form did not catch becomes an error message; the admin's
    # transaction rolls back, so nothing is saved.
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as exc:
            messages.error(request, _error_text(exc))
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceError as exc:
            messages.error(request, _error_text(exc))
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        try:
            return super().changelist_view(request, extra_context)
        except ServiceError as exc:
            messages.error(request, _error_text(exc))
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request: HttpRequest, obj: Pipeline, form: forms.ModelForm[Pipeline], change: bool) -> None:
        if change:
            values = {f: form.cleaned_data[f] for f in form.changed_data if f in PIPELINE_FIELDS}
            if values:
                pipeline_update(actor=_actor(request), pipeline=obj, **values)
            return
        created = pipeline_create(
            actor=_actor(request), **{f: form.cleaned_data[f] for f in PIPELINE_FIELDS if f in form.cleaned_data}
        )
        # The admin goes on with ``obj`` (inlines, log entry): make it the saved row.
        obj.pk = created.pk
        obj.is_default = created.is_default
        obj.created_at, obj.updated_at = created.created_at, created.updated_at
        obj._state.adding = False
        obj._state.db = created._state.db

    def delete_model(self, request: HttpRequest, obj: Pipeline) -> None:
        pipeline_delete(actor=_actor(request), pipeline=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Pipeline]) -> None:
        for pipeline in queryset:
            pipeline_delete(actor=_actor(request), pipeline=pipeline)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Stage:
            super().save_formset(request, form, formset, change)
            return
        actor = _actor(request)
        pipeline: Pipeline = form.instance
        formset.save(commit=False)  # fills new_objects / changed_objects / deleted_objects only
        typed: dict[int, int] = {}  # stage id → position typed in the form
        created: list[Stage] = []
        for new in formset.new_objects:
            values = {f: getattr(new, f) for f in STAGE_FIELDS}
            stage = stage_create(actor=actor, pipeline=pipeline, **values)
            typed[stage.pk] = new.position
            created.append(stage)
        for stage, changed in formset.changed_objects:
            values = {f: getattr(stage, f) for f in changed if f in STAGE_FIELDS}
            if values:
                stage_update(actor=actor, stage=stage, **values)
            typed[stage.pk] = stage.position
        for stage in formset.deleted_objects:
            stage_delete(actor=actor, stage=stage)
        formset.new_objects = created
        if typed:
            current = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))
            # Typed positions win; ties keep the current order. Positions become 1…n.
            wanted = sorted(current, key=lambda s: (typed.get(s.pk, s.position), current.index(s)))
            if wanted != current:
                stage_reorder(actor=actor, pipeline=pipeline, stages=wanted)


@admin.register(LostReason)
class LostReasonAdmin(admin.ModelAdmin[LostReason]):
    list_display = ["name_zh", "name_en", "code", "is_active", "position"]


@admin.register(Competitor)
class CompetitorAdmin(admin.ModelAdmin[Competitor]):
    list_display = ["name", "website"]
    search_fields = ["name"]


# --- stall detection (issue 7) ----------------------------------------------------------------------


@admin.register(StallEscalationStep)
class StallEscalationStepAdmin(admin.ModelAdmin[StallEscalationStep]):
    """The escalation ladder (configuration data, like lost reasons): whom to notify after how
    many days stalled. Each step fires once per deal and stall episode (``StallNotice``)."""

    list_display = ["after_days_stalled", "notify", "position", "is_active"]
    list_editable = ["position", "is_active"]
    ordering = ["after_days_stalled", "position"]


@admin.register(StageDwellStat)
class StageDwellStatAdmin(admin.ModelAdmin[StageDwellStat]):
    """Read only: the daily job ``sales.compute_stage_dwell_stats`` writes these rows."""

    list_display = ["stage", "team", "p80_seconds", "sample_size", "computed_at"]
    list_select_related = ["stage", "team"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
