from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AttachmentsConfig(AppConfig):
    name = "salesflow.attachments"
    label = "attachments"
    verbose_name = _("Attachments")

    def ready(self) -> None:
        from salesflow.attachments.tasks import purge_after_delete, should_purge
        from salesflow.core.events import event_types, subscribe_task
        from salesflow.core.timeline import register_verbs

        register_verbs(
            {
                "attachments.attachment.added": _("attached a file"),
                "attachments.attachment.deleted": _("deleted an attachment"),
            }
        )
        # Deleting a record (or a record whose deletion cascades to others, such as an
        # account's activities) leaves its attachments without a target: every ".deleted"
        # verb of a business app triggers, after the commit, a sweep of orphaned attachments
        # (rows and files). The periodic job in salesflow/schedule.py catches the rest.
        for declared in event_types():
            if declared.verb.endswith(".deleted") and not declared.verb.startswith("attachments."):
                subscribe_task(declared.verb, purge_after_delete, when=should_purge)
