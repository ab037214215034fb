from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    name = "salesflow.contracts"
    label = "contracts"
    verbose_name = _("Contracts")

    def ready(self) -> None:
        from salesflow.contracts.models import Contract
        from salesflow.contracts.permissions import can_attach_to_contract, contracts_visible_to
        from salesflow.contracts.services import register_approvables
        from salesflow.core.timeline import register_verbs
        from salesflow.core.visibility import register_readable, register_record_kind

        # the record-kind registry: timelines filter by it, attachments (the signed file) use it
        register_readable(Contract, contracts_visible_to)
        register_record_kind("contract", Contract, can_write=can_attach_to_contract)
        # the approval gate (core.approvals): contracts and change orders
        register_approvables()
        register_verbs(
            {
                "contracts.contract.created": _("created the contract"),
                "contracts.contract.updated": _("updated the contract"),
                "contracts.contract.submitted": _("submitted the contract for approval"),
                "contracts.contract.approved": _("approved the contract"),
                "contracts.contract.rejected": _("returned the contract to draft"),
                "contracts.contract.signed": _("recorded the contract's signature"),
                "contracts.amendment.created": _("opened a change order"),
                "contracts.amendment.updated": _("updated the change order"),
                "contracts.amendment.submitted": _("submitted the change order for approval"),
                "contracts.amendment.approved": _("applied the approved change order"),
                "contracts.amendment.rejected": _("returned the change order to draft"),
                "contracts.contract.renewal_due": _("reminded the owner of the coming renewal"),
                "contracts.contract.renewed": _("created the renewal opportunity"),
                "contracts.contract.terminated": _("terminated the contract"),
                "contracts.contract.expired": _("marked the contract as expired"),
                "contracts.settings.updated": _("changed the renewal reminder days"),
            }
        )
