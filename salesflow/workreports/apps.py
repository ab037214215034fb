from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkReportsConfig(AppConfig):
    name = "salesflow.workreports"
    label = "workreports"
    verbose_name = _("Work reports")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs
        from salesflow.core.visibility import register_readable
        from salesflow.workreports.models import WorkReport
        from salesflow.workreports.permissions import reports_visible_to

        register_readable(WorkReport, reports_visible_to)
        register_verbs(
            {
                "workreports.report.created": _("started a work report"),
                "workreports.report.updated": _("edited a work report"),
                "workreports.report.submitted": _("submitted a work report"),
                "workreports.report.commented": _("commented on a work report"),
                "workreports.reminder.sent": _("reminded of a missing work report"),
            }
        )

        from salesflow.workreports.exports import register as register_exports

        register_exports()
