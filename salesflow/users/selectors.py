"""Reads for people and organisation: who a record is shared with, who may be a grantee."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet

from salesflow.users.models import Share, User
from salesflow.users.permissions import SYSTEM_USERNAME


def shares_of(target: models.Model) -> QuerySet[Share]:
    """The shares of ``target`` with their grantees loaded (one query)."""
    return (
        Share.objects.filter(content_type=ContentType.objects.get_for_model(target), object_id=target.pk)
        .select_related("grantee_user", "grantee_team", "created_by")
        .order_by("created_at", "id")
    )


def shareable_users() -> QuerySet[User]:
    """People a record can be shared with: active users, not the system actor."""
    return User.objects.filter(is_active=True).exclude(username=SYSTEM_USERNAME).order_by("display_name", "username")
