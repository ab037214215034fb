"""Administrator configuration screens for the organisation (teams, territories, users).

Only configuration lives here; business records are changed through the app's own pages
and services so their audit trail stays complete.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesflow.users.models import LoginThrottle, Team, TeamMembership, Territory, User


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ["name", "parent", "manager"]
    list_select_related = ["parent", "manager"]
    search_fields = ["name"]
    autocomplete_fields = ["parent", "manager"]


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin[Territory]):
    list_display = ["name", "code", "parent"]
    list_select_related = ["parent"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["parent"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    list_display = ["username", "display_name", "role", "team", "is_active"]
    list_filter = ["role", "team", "is_active", "can_view_personal_data"]
    list_select_related = ["team"]
    search_fields = ["username", "display_name", "email"]
    autocomplete_fields = ["team"]
    filter_horizontal = ["territories", "delegated_reps"]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (
            _("Sales organisation"),
            {
                "fields": (
                    "display_name",
                    "phone",
                    "role",
                    "team",
                    "territories",
                    "delegated_reps",
                    "can_view_personal_data",
                    "time_zone",
                )
            },
        ),
    )

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """A team change goes through ``user_change_team`` so the team history (issue 10) stays whole."""
        from salesflow.users.services import user_change_team

        if not change:
            super().save_model(request, obj, form, change)
            TeamMembership.objects.create(user=obj, team=obj.team, start=timezone.localdate())
            return
        if "team" not in form.changed_data:
            super().save_model(request, obj, form, change)
            return
        new_team = obj.team
        obj.team_id = form.initial.get("team")
        super().save_model(request, obj, form, change)
        user_change_team(actor=cast(User, request.user), user=obj, team=new_team)


@admin.register(LoginThrottle)
class LoginThrottleAdmin(admin.ModelAdmin[LoginThrottle]):
    """Failed sign-in counts and locks. Read only; deleting a row lifts its lock early."""

    list_display = ["scope", "key", "failures", "window_started_at", "locked_until"]
    list_filter = ["scope"]
    search_fields = ["key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LoginThrottle | None = None) -> bool:
        return False
