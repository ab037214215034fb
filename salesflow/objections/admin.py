"""Django admin for the objection categories, through the services (the library itself is
edited on its own pages: ``/objections/``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from salesflow.objections.models import ObjectionCategory
from salesflow.objections.services import category_create, category_update


@admin.register(ObjectionCategory)
class ObjectionCategoryAdmin(admin.ModelAdmin[ObjectionCategory]):
    list_display = ("code", "name_zh", "name_en", "position", "is_active")
    list_editable = ("position", "is_active")
    fields = ("code", "name_zh", "name_en", "position", "is_active")
    ordering = ("position", "id")

    def get_readonly_fields(self, request: HttpRequest, obj: ObjectionCategory | None = None) -> Any:
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: ObjectionCategory | None = None) -> bool:
        return False  # retire with "active" instead: objections point at their category

    def save_model(self, request: HttpRequest, obj: ObjectionCategory, form: Any, change: bool) -> None:
        if change:
            current = ObjectionCategory.objects.get(pk=obj.pk)
            category_update(
                actor=request.user,  # type: ignore[arg-type]
                category=current,
                name_en=obj.name_en,
                name_zh=obj.name_zh,
                position=obj.position,
                is_active=obj.is_active,
            )
        else:
            created = category_create(
                actor=request.user,  # type: ignore[arg-type]
                code=obj.code,
                name_en=obj.name_en,
                name_zh=obj.name_zh,
                position=obj.position,
            )
            obj.pk = created.pk
        obj.refresh_from_db()
