from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "salesflow.sales"
    label = "sales"
    verbose_name = _("Opportunities and pipeline")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs

        register_verbs(
            {
                "sales.opportunity.created": _("created the opportunity"),
                "sales.opportunity.updated": _("updated the opportunity"),
                "sales.opportunity.stage_changed": _("moved the opportunity to another stage"),
                "sales.opportunity.won": _("won the opportunity"),
                "sales.opportunity.lost": _("lost the opportunity"),
                "sales.opportunity.paused": _("paused the opportunity"),
                "sales.opportunity.upgraded": _("marked the opportunity as upgraded"),
                "sales.opportunity.reopened": _("reopened the opportunity"),
                "sales.opportunity.deleted": _("deleted the opportunity"),
            }
        )
