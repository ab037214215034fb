from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommissionsConfig(AppConfig):
    name = "salesflow.commissions"
    label = "commissions"
    verbose_name = _("Commissions")

    def ready(self) -> None:
        from salesflow.commissions import events  # noqa: F401  (declares the event types)
        from salesflow.core.timeline import register_verbs

        register_verbs(
            {
                "commissions.plan.created": _("created a commission plan"),
                "commissions.plan.updated": _("changed a commission plan"),
                "commissions.plan.deleted": _("deleted a commission plan"),
                "commissions.rule.created": _("added a commission rule"),
                "commissions.rule.updated": _("changed a commission rule"),
                "commissions.rule.deleted": _("deleted a commission rule"),
                "commissions.statement.generated": _("computed a commission statement"),
                "commissions.statement.submitted": _("submitted a commission statement"),
                "commissions.statement.returned": _("sent back a commission statement"),
                "commissions.statement.approved": _("approved a commission statement"),
                "commissions.statement.locked": _("locked a commission statement"),
                "commissions.statement.corrected": _("started a correction of a commission statement"),
                "commissions.statement.exported": _("exported a commission statement"),
            }
        )
