from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DedupeConfig(AppConfig):
    name = "salesflow.dedupe"
    label = "dedupe"
    verbose_name = _("Duplicate check")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs
        from salesflow.dedupe import events  # noqa: F401  (declares the event types)

        register_verbs(
            {
                "dedupe.report.started": _("started a duplicate report"),
                "dedupe.report.completed": _("completed a duplicate report"),
                "dedupe.pair.dismissed": _("dismissed a possible duplicate"),
            }
        )
