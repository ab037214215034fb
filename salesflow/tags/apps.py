from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TagsConfig(AppConfig):
    name = "salesflow.tags"
    label = "tags"
    verbose_name = _("Tags")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs

        register_verbs(
            {
                "tags.tag.created": _("created the tag"),
                "tags.tag.updated": _("updated the tag"),
                "tags.tag.deleted": _("deleted the tag"),
                "tags.settings.updated": _("changed the tag settings"),
                "tags.record.tagged": _("added a tag"),
                "tags.record.untagged": _("removed a tag"),
            }
        )
