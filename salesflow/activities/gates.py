"""Stage gates: the "done demo or visit" entry criterion (activities sit above sales, so
the type is registered here, from ``ActivitiesConfig.ready``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesflow.activities.choices import ActivityKind
from salesflow.activities.models import Activity
from salesflow.sales.gates import CriterionType, ParamSpec, choice_list, register_criterion_type
from salesflow.sales.models import Opportunity, StageCriterion

KINDS = dict(ActivityKind.choices)


def _clean(raw: Any) -> dict[str, Any]:
    if raw is None or raw == "":
        raw = {}
    if not isinstance(raw, dict):
        raise ValueError(_("Settings must be an object."))
    unknown = [str(k)[:50] for k in raw if k != "kinds"]
    if unknown:
        raise ValueError(_("Unknown settings: %(keys)s.") % {"keys": ", ".join(unknown)})
    return {"kinds": choice_list(raw, "kinds", KINDS)}


def _names(params: Mapping[str, Any]) -> str:
    return _(" or ").join(str(KINDS[k]) for k in params.get("kinds", []) if k in KINDS)


def _describe(params: Mapping[str, Any]) -> str:
    return _("A done activity: %(kinds)s") % {"kinds": _names(params)}


def _load(opp_ids: list[int], criteria: list[StageCriterion]) -> set[tuple[int, str]]:
    kinds = {k for c in criteria for k in (c.params or {}).get("kinds", [])}
    rows = (
        Activity.objects.filter(opportunity_id__in=opp_ids, kind__in=kinds, done=True)
        .values_list("opportunity_id", "kind")
        .distinct()
    )
    return {(opp_id, kind) for opp_id, kind in rows if opp_id is not None}


def _check(opp: Opportunity, criterion: StageCriterion, done: set[tuple[int, str]]) -> str | None:
    kinds = (criterion.params or {}).get("kinds", [])
    if any((opp.pk, k) in done for k in kinds):
        return None
    return _("No done activity of this kind is linked to the deal: %(kinds)s.") % {"kinds": _names(criterion.params)}


def register() -> None:
    register_criterion_type(
        CriterionType(
            code="activity_done",
            label=gettext_lazy("A done activity of a given kind"),
            help_text=gettext_lazy("For example a demo or a visit, linked to the deal and marked done."),
            clean_params=_clean,
            load=_load,
            check=_check,
            describe=_describe,
            params_spec=(
                ParamSpec("kinds", gettext_lazy("Activity types"), tuple(ActivityKind.choices), multiple=True),
            ),
        )
    )
