"""Stage gates: the "accepted quote" entry criterion (registered from ``QuotesConfig.ready``):
met when the deal has a quote whose customer accepted a version."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesflow.quotes.models import Quote
from salesflow.sales.gates import CriterionType, register_criterion_type
from salesflow.sales.models import Opportunity, StageCriterion

CODE = "quote_accepted"


def _clean(raw: Any) -> dict[str, Any]:
    if raw in (None, "", {}):
        return {}
    raise ValueError(_("This criterion type takes no settings."))


def _load(opp_ids: list[int], criteria: list[StageCriterion]) -> set[int]:
    """The deals (of ``opp_ids``) with an accepted quote: one query."""
    return set(
        Quote.objects.filter(opportunity_id__in=opp_ids, accepted_version__isnull=False).values_list(
            "opportunity_id", flat=True
        )
    )


def _check(opp: Opportunity, criterion: StageCriterion, accepted: set[int]) -> str | None:
    return None if opp.pk in accepted else _("No quote of this deal has been accepted by the customer.")


def register() -> None:
    register_criterion_type(
        CriterionType(
            code=CODE,
            label=gettext_lazy("An accepted quote"),
            help_text=gettext_lazy("The customer accepted a quote of the deal through its online link."),
            clean_params=_clean,
            load=_load,
            check=_check,
        )
    )
