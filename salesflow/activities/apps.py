from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "salesflow.activities"
    label = "activities"
    verbose_name = _("Activities")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs

        register_verbs(
            {
                "activities.activity.created": _("logged an activity"),
                "activities.activity.updated": _("updated an activity"),
                "activities.activity.completed": _("completed an activity"),
                "activities.activity.deleted": _("deleted an activity"),
            }
        )
