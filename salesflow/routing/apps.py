from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "salesflow.routing"
    label = "routing"
    verbose_name = _("Lead capture and assignment")

    def ready(self) -> None:
        from salesflow.core.intake import IntakeCheck, register_intake_check
        from salesflow.core.timeline import register_verbs
        from salesflow.leads.selectors import LeadListFilter, register_lead_list_filter
        from salesflow.routing.selectors import filter_leads_by_sla, sla_filter_choices
        from salesflow.routing.services import assignment_after, assignment_after_many, assignment_before

        # the lead list's first-response filter (page, export and GET /leads?sla=)
        register_lead_list_filter(
            LeadListFilter(
                param="sla",
                label=_("First response"),
                choices=sla_filter_choices,
                apply=lambda qs, value: filter_leads_by_sla(qs, value),
            )
        )

        register_intake_check(
            IntakeCheck(
                code="assignment",
                order=40,
                kinds=frozenset({"lead"}),
                before=assignment_before,
                after=assignment_after,
                after_many=assignment_after_many,
                actions=frozenset({"create", "import", "update", "claim"}),
            )
        )
        register_verbs(
            {
                "routing.form.created": _("created the web-to-lead form"),
                "routing.form.updated": _("updated the web-to-lead form"),
                "routing.form.deleted": _("deleted the web-to-lead form"),
                "routing.form.submitted": _("captured the lead from a web-to-lead form"),
                "routing.rule.created": _("created the assignment rule"),
                "routing.rule.updated": _("updated the assignment rule"),
                "routing.rule.deleted": _("deleted the assignment rule"),
                "routing.sla.saved": _("saved the first-response SLA"),
                "routing.sla.deleted": _("deleted the first-response SLA"),
                "routing.hours.saved": _("saved working hours"),
                "routing.hours.deleted": _("deleted working hours"),
                "routing.lead.assigned": _("assigned the lead by an assignment rule"),
                "routing.lead.sla_missed": _("escalated the lead: first-response SLA missed"),
            }
        )
