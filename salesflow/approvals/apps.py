from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "salesflow.approvals"
    label = "approvals"
    verbose_name = _("Approvals")

    def ready(self) -> None:
        from django.urls import reverse

        from salesflow.approvals.gates import register_gate
        from salesflow.approvals.models import ApprovalRequest
        from salesflow.approvals.permissions import requests_visible_to
        from salesflow.approvals.services import DEAL_KIND, ApprovalEngine, deal_on_decision
        from salesflow.core.approvals import Approvable, register_approvable, register_engine
        from salesflow.core.timeline import register_verbs
        from salesflow.core.visibility import register_readable
        from salesflow.sales.models import Opportunity
        from salesflow.sales.permissions import opportunities_visible_to

        register_engine(ApprovalEngine())
        register_readable(ApprovalRequest, requests_visible_to)
        # "Large deals": the deal itself is the document (its approval lives in the request).
        register_approvable(
            Approvable(
                kind=DEAL_KIND,
                model=Opportunity,
                label=_("Large deal"),
                url=lambda opp: reverse("opportunities:detail", args=[opp.pk]),
                can_read=lambda user, opp: opportunities_visible_to(user).filter(pk=opp.pk).exists(),
                on_approved=deal_on_decision,
                on_rejected=deal_on_decision,
                on_withdrawn=deal_on_decision,
            )
        )
        register_gate()
        register_verbs(
            {
                "approvals.request.submitted": _("asked for approval"),
                "approvals.request.auto_approved": _("was approved without a request (no rule applies)"),
                "approvals.request.step_approved": _("approved an approval step"),
                "approvals.request.approved": _("approved the request"),
                "approvals.request.rejected": _("rejected the request"),
                "approvals.request.returned": _("returned the request to an earlier step"),
                "approvals.request.resubmitted": _("sent the returned request on again"),
                "approvals.request.withdrawn": _("withdrew the request"),
                "approvals.request.reminded": _("reminded the approvers"),
                "approvals.request.escalated": _("escalated the request to the approvers' managers"),
                "approvals.rule.saved": _("saved the approval rule"),
                "approvals.rule.deleted": _("deleted the approval rule"),
                "approvals.delegation.saved": _("saved the delegation"),
                "approvals.delegation.deleted": _("deleted the delegation"),
            }
        )
