from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "salesflow.sales"
    label = "sales"
    verbose_name = _("Opportunities and pipeline")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs
        from salesflow.core.visibility import register_readable, register_record_kind
        from salesflow.parties.models import Account
        from salesflow.sales.models import Opportunity
        from salesflow.sales.permissions import can_write_opportunity, opportunities_visible_to
        from salesflow.users.policy import register_shareable, register_work_link

        register_shareable("opportunity", Opportunity)
        # a copied pipeline keeps its stages' entry criteria (stage gates)
        from salesflow.sales.config_services import register_stage_copier
        from salesflow.sales.gate_services import stage_criteria_copy

        register_stage_copier(stage_criteria_copy)
        register_readable(Opportunity, opportunities_visible_to)
        register_record_kind("opportunity", Opportunity, can_write=can_write_opportunity)
        # access follows the work: a deal's reader may read its account
        register_work_link(Account, opportunities_visible_to, "account_id")
        # bulk reassignment of accounts: open deals may follow the account to its new owner
        from salesflow.parties.services import register_account_owner_follower
        from salesflow.sales.services import open_deals_follow_account

        register_account_owner_follower(open_deals_follow_account)

        from salesflow.sales.search_index import register as register_search

        register_search()  # how the app's records appear in the global search

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
                "sales.opportunity.gate_overridden": _("overrode the stage's entry criteria"),
                "sales.opportunity.checklist_ticked": _("ticked a checklist item"),
                "sales.opportunity.checklist_unticked": _("unticked a checklist item"),
                "sales.stage_criterion.created": _("added an entry criterion"),
                "sales.stage_criterion.updated": _("changed an entry criterion"),
                "sales.stage_criterion.deleted": _("removed an entry criterion"),
            }
        )

        # stage gates: the built-in criterion types (activities and leads add theirs)
        from salesflow.sales.gates import register_builtin_types

        register_builtin_types()

        # issue 6: the app's lists can be exported and saved as views (core.exports)
        from salesflow.sales.exports import register as register_exports

        register_exports()
