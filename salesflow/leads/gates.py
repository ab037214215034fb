"""Stage gates: the "BANT complete" entry criterion. BANT (budget, authority, need,
timeline) is qualified on the lead, so leads (above sales) registers the type from
``LeadsConfig.ready``: met when a lead converted into the deal has a complete BANT."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesflow.leads.models import Lead
from salesflow.sales.gates import CriterionType, register_criterion_type
from salesflow.sales.models import Opportunity, StageCriterion


def _clean(raw: Any) -> dict[str, Any]:
    if raw in (None, "", {}):
        return {}
    raise ValueError(_("This criterion type takes no settings."))


def _load(opp_ids: list[int], criteria: list[StageCriterion]) -> dict[int, list[str]]:
    """Per deal, the BANT elements its best source lead still misses ([] when complete)."""
    result: dict[int, list[str]] = {}
    leads = Lead.objects.filter(converted_opportunity_id__in=opp_ids).only(
        "converted_opportunity_id", "budget_status", "authority_status", "need", "timeline"
    )
    for lead in leads:
        opp_id = lead.converted_opportunity_id
        assert opp_id is not None
        missing = lead.bant_missing
        if opp_id not in result or len(missing) < len(result[opp_id]):
            result[opp_id] = missing
    return result


def _check(opp: Opportunity, criterion: StageCriterion, missing: dict[int, list[str]]) -> str | None:
    if opp.pk not in missing:
        return _("The deal was not converted from a lead, so it has no BANT qualification.")
    if missing[opp.pk]:
        return _("BANT is incomplete on the source lead: %(missing)s.") % {"missing": ", ".join(missing[opp.pk])}
    return None


def register() -> None:
    register_criterion_type(
        CriterionType(
            code="bant_complete",
            label=gettext_lazy("BANT complete"),
            help_text=gettext_lazy("The lead the deal was converted from has budget, authority, need and timeline."),
            clean_params=_clean,
            load=_load,
            check=_check,
        )
    )
