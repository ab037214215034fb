from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "salesflow.billing"
    label = "billing"
    verbose_name = _("Payment collection and invoices")

    def ready(self) -> None:
        from salesflow.billing.services import (
            billing_follow_account,
            billing_follow_opportunity,
            billing_follow_termination,
        )
        from salesflow.contracts.services import register_termination_follower
        from salesflow.core.timeline import register_verbs
        from salesflow.parties.services import register_account_owner_follower
        from salesflow.sales.services import register_opportunity_owner_follower

        # open receivables follow an account reassigned with its records (account_reassign(follow=True))
        register_account_owner_follower(billing_follow_account)
        # ... and when one deal is reassigned, its open receivables follow the deal's new owner
        register_opportunity_owner_follower(billing_follow_opportunity)
        # a terminated contract no longer owes the instalments due after its termination date
        register_termination_follower(billing_follow_termination)

        register_verbs(
            {
                "billing.plan.created": _("made the payment plan"),
                "billing.plan.reassigned": _("gave the payment plan to the new owner"),
                "billing.plan.terminated": _("closed the payment plan of the terminated contract"),
                "billing.reminder_rule.changed": _("changed a payment reminder day"),
                "billing.instalment.added": _("added an instalment"),
                "billing.instalment.updated": _("changed an instalment"),
                "billing.instalment.voided": _("voided an instalment"),
                "billing.instalment.deleted": _("deleted an instalment"),
                "billing.instalment.reminder": _("reminded of an instalment"),
                "billing.payment.recorded": _("recorded a payment"),
                "billing.payment.allocated": _("allocated a payment"),
                "billing.payment.unallocated": _("removed an allocation"),
                "billing.payment.voided": _("voided a payment"),
                "billing.invoice.created": _("created an invoice"),
                "billing.invoice.updated": _("changed an invoice"),
                "billing.invoice.issued": _("issued an invoice"),
                "billing.invoice.voided": _("voided an invoice"),
                "billing.invoice.red_reversed": _("red-reversed an invoice"),
            }
        )
