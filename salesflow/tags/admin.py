"""Django admin for tags, through the same services as the settings page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from salesflow.tags.models import Tag
from salesflow.tags.services import tag_create, tag_delete, tag_update


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin[Tag]):
    list_display = ("name", "colour", "created_by", "created_at")
    search_fields = ("name",)
    fields = ("name", "colour")

    def save_model(self, request: HttpRequest, obj: Tag, form: Any, change: bool) -> None:
        if change:
            current = Tag.objects.get(pk=obj.pk)
            tag_update(actor=request.user, tag=current, name=obj.name, colour=obj.colour)  # type: ignore[arg-type]
            obj.refresh_from_db()
        else:
            created = tag_create(actor=request.user, name=obj.name, colour=obj.colour)  # type: ignore[arg-type]
            obj.pk = created.pk
            obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Tag) -> None:
        tag_delete(actor=request.user, tag=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for tag in queryset:
            tag_delete(actor=request.user, tag=tag)  # type: ignore[arg-type]
