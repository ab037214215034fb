"""The stage-gate criterion "large-deal approval granted" (``large_deal_approved``).

Met when the deal has an approved large-deal request, or was approved without one because no
rule applied (the ``approvals.request.auto_approved`` event on the deal). One query for all
deals of an evaluation (a ``UNION`` of the two).
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesflow.approvals.choices import RequestStatus
from salesflow.approvals.models import ApprovalRequest
from salesflow.core.models import AuditEvent
from salesflow.sales.gates import CriterionType, register_criterion_type
from salesflow.sales.models import Opportunity, StageCriterion

CODE = "large_deal_approved"


def _no_params(raw: Any) -> dict[str, Any]:
    if raw not in (None, {}):
        raise ValueError(_("This criterion takes no settings."))
    return {}


def _load(opp_ids: list[int], criteria: list[StageCriterion]) -> set[int]:
    approved = (
        ApprovalRequest.objects.filter(kind="sales.opportunity", object_id__in=opp_ids, status=RequestStatus.APPROVED)
        .order_by()
        .values_list("object_id", flat=True)
    )
    auto = (
        AuditEvent.objects.filter(
            target_type=ContentType.objects.get_for_model(Opportunity),
            target_id__in=opp_ids,
            verb="approvals.request.auto_approved",
        )
        .order_by()
        .values_list("target_id", flat=True)
    )
    return set(approved.union(auto))


def _check(opp: Opportunity, criterion: StageCriterion, loaded: Any) -> str | None:
    return None if opp.pk in loaded else _("The large-deal approval has not been granted yet.")


def register_gate() -> None:
    register_criterion_type(
        CriterionType(
            code=CODE,
            label=gettext_lazy("Large-deal approval granted"),
            check=_check,
            clean_params=_no_params,
            load=_load,
            describe=lambda params: _("Large-deal approval granted"),
            help_text=gettext_lazy("The deal's large-deal approval was granted, or no approval rule applied to it."),
        )
    )
