"""Who imports, and whose import jobs and mapping templates one sees.

- Whoever may write some records (reps, assistants, managers, administrators — not support,
  not inactive users) may import; every row is then written as them, so the record
  services decide row by row what they may create and for whom.
- An import job is seen and acted on by the user who uploaded it and by administrators.
- Mapping templates: one's own and the shared ones; changed by their owner or an administrator.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from salesflow.imports.models import ImportJob, MappingTemplate
from salesflow.users.models import User
from salesflow.users.permissions import writable_owner_ids


def can_import(user: User) -> bool:
    """Whether ``user`` may upload files for import."""
    if not (user.is_authenticated and user.is_active):
        return False
    ids = writable_owner_ids(user)
    return ids is None or bool(ids)


def jobs_visible_to(user: User) -> QuerySet[ImportJob]:
    """The import jobs ``user`` sees: their own; every one for administrators."""
    qs = ImportJob.objects.all()
    if not (user.is_authenticated and user.is_active):
        return qs.none()
    return qs if user.is_admin else qs.filter(owner=user)


def templates_visible_to(user: User) -> QuerySet[MappingTemplate]:
    """Mapping templates ``user`` may use: their own and the shared ones."""
    if not (user.is_authenticated and user.is_active):
        return MappingTemplate.objects.none()
    return MappingTemplate.objects.filter(Q(owner=user) | Q(shared=True))


def can_change_template(user: User, template: MappingTemplate) -> bool:
    return bool(user.is_authenticated and user.is_active and (template.owner_id == user.pk or user.is_admin))
