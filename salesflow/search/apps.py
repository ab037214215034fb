from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def backfill_empty_index(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After ``migrate``: an empty index beside existing records (a deployment upgraded to
    the version that introduced search) is built once. ``salesflow search_reindex`` rebuilds
    it on demand."""
    from salesflow.search.documents import registrations
    from salesflow.search.models import SearchEntry
    from salesflow.search.services import reindex

    if SearchEntry.objects.using(using).exists():
        return
    if any(r.model._default_manager.using(using).exists() for r in registrations()):
        reindex()


class SearchConfig(AppConfig):
    name = "salesflow.search"
    label = "search"
    verbose_name = _("Search")

    def ready(self) -> None:
        post_migrate.connect(backfill_empty_index, sender=self, dispatch_uid="search-backfill")
