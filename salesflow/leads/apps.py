from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "salesflow.leads"
    label = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs

        register_verbs(
            {
                "leads.lead.created": _("created the lead"),
                "leads.lead.updated": _("updated the lead"),
                "leads.lead.deleted": _("deleted the lead"),
                "leads.lead.status_changed": _("marked the lead as contacted"),
                "leads.lead.qualified": _("qualified the lead"),
                "leads.lead.disqualified": _("disqualified the lead"),
                "leads.lead.reopened": _("reopened the lead"),
                "leads.lead.converted": _("converted the lead"),
            }
        )
