from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "salesflow.imports"
    label = "imports"
    verbose_name = _("Imports")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs

        register_verbs(
            {
                "imports.job.created": _("uploaded a file for import"),
                "imports.job.started": _("started the import"),
                "imports.job.finished": _("finished the import"),
                "imports.job.cancel_requested": _("asked to cancel the import"),
                "imports.job.rolled_back": _("rolled back the import"),
                "imports.template.saved": _("saved the mapping template"),
                "imports.template.deleted": _("deleted the mapping template"),
            }
        )
