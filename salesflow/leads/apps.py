from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "salesflow.leads"
    label = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs
        from salesflow.core.visibility import register_readable, register_record_kind
        from salesflow.leads.models import Lead
        from salesflow.leads.permissions import can_write_lead, leads_visible_to
        from salesflow.parties.models import Account
        from salesflow.users.policy import register_shareable, register_work_link

        register_shareable("lead", Lead)
        register_readable(Lead, leads_visible_to)
        register_record_kind("lead", Lead, can_write=can_write_lead)
        # access follows the work: a converted lead's reader may read its account
        register_work_link(Account, leads_visible_to, "converted_account_id")

        from salesflow.leads.search_index import register as register_search

        register_search()  # how the app's records appear in the global search

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
                "leads.lead.handed_off": _("handed the lead off to sales"),
            }
        )

        # stage gates: this app's entry-criterion type (salesflow.sales.gates)
        from salesflow.leads.gates import register as register_gates

        register_gates()

        # issue 6: the app's lists can be exported and saved as views (core.exports)
        from salesflow.leads.exports import register as register_exports

        register_exports()
