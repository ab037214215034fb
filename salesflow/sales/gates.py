"""Stage gates (阶段准入条件): the criterion-type registry and the evaluation of a stage's
entry criteria for deals.

A stage's criteria are rows (``StageCriterion``: ``kind`` + ``params``); what a kind means
is a ``CriterionType`` in this registry. Sales registers the built-in types below; apps
above sales add theirs from their ``AppConfig.ready()`` (activities: "a done demo or
visit"; leads: "BANT complete"; a quotes app will add "an accepted quote")::

    from salesflow.sales.gates import CriterionType, register_criterion_type

    register_criterion_type(CriterionType(
        code="quote_accepted",
        label=_("An accepted quote"),
        clean_params=no_params,            # raise ValueError(message) for bad settings
        load=lambda opp_ids, criteria: set(Quote.objects.filter(
            opportunity_id__in=opp_ids, status="accepted").values_list("opportunity_id", flat=True)),
        check=lambda opp, criterion, loaded: None if opp.pk in loaded else _("No accepted quote."),
    ))

``load`` runs ONE query for every deal and every criterion of its type, so evaluating a
stage (or a board of deals) costs one query for the criteria plus at most one per type
used, whatever the number of deals and criteria. ``check`` returns ``None`` when met, or
the explanation shown to people when not. A criterion whose type is no longer registered
(its app was removed) is skipped, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesflow.attachments.choices import AttachmentKind
from salesflow.core.errors import Conflict
from salesflow.parties.choices import BuyingRole
from salesflow.sales.models import Opportunity, OpportunityChecklistTick, OpportunityContact, Stage, StageCriterion

Check = Callable[[Opportunity, StageCriterion, Any], "str | Promise | None"]
Load = Callable[[list[int], list[StageCriterion]], Any]


@dataclass(frozen=True)
class ParamSpec:
    """One setting of a criterion type as the settings form shows it: ``params[key]`` is
    one code (``multiple=False``) or a list of codes from ``choices``."""

    key: str
    label: str | Promise
    choices: Sequence[tuple[str, str | Promise]]
    multiple: bool = False


@dataclass(frozen=True)
class CriterionType:
    """One kind of entry criterion.

    - ``clean_params(raw) -> dict``: the settings as stored; raises ``ValueError(message)``
      for anything else (unknown keys, wrong values);
    - ``load(opp_ids, criteria)``: one query for all the deals and criteria of this type
      (``None``: nothing to load); its result is passed to ``check``;
    - ``check(opp, criterion, loaded)``: ``None`` when met, else the explanation;
    - ``describe(params)``: the default label of a criterion without one;
    - ``manual``: met by ticking it on the deal (the checklist item);
    - ``params_spec``: how the settings page asks for ``params`` (``ParamSpec``s).
    """

    code: str
    label: str | Promise
    check: Check
    clean_params: Callable[[Any], dict[str, Any]]
    load: Load | None = None
    describe: Callable[[Mapping[str, Any]], str] | None = None
    manual: bool = False
    help_text: str | Promise = ""
    params_spec: tuple[ParamSpec, ...] = ()


_TYPES: dict[str, CriterionType] = {}


def register_criterion_type(criterion_type: CriterionType) -> None:
    """Add a criterion type (from an ``AppConfig.ready()``). Registering the same code again
    replaces it (tests, reloads)."""
    _TYPES[criterion_type.code] = criterion_type


def criterion_type(code: str) -> CriterionType | None:
    return _TYPES.get(code)


def criterion_types() -> list[CriterionType]:
    """Every registered type, in registration order."""
    return list(_TYPES.values())


def unregister_criterion_type(code: str) -> None:
    """Remove a type (tests only)."""
    _TYPES.pop(code, None)


# ------------------------------------------------------------------------------ evaluation


@dataclass(frozen=True)
class CriterionResult:
    """A criterion evaluated for one deal."""

    criterion: StageCriterion
    met: bool
    explanation: str = ""
    manual: bool = False
    ticked_by: str = ""

    @property
    def code(self) -> str:
        return self.criterion.kind

    @property
    def label(self) -> str:
        return criterion_label(self.criterion)

    def as_dict(self) -> dict[str, Any]:
        """The API / audit form: ``{"id", "code", "label", "explanation"}``."""
        return {
            "id": self.criterion.pk,
            "code": self.code,
            "label": self.label,
            "explanation": self.explanation,
        }


def criterion_label(criterion: StageCriterion) -> str:
    """The criterion's own label in the reader's language, else its type's description."""
    if criterion.label:
        return criterion.label
    ctype = _TYPES.get(criterion.kind)
    if ctype is None:
        return criterion.kind
    if ctype.describe is not None:
        try:
            return ctype.describe(criterion.params if isinstance(criterion.params, dict) else {})
        except (KeyError, TypeError, ValueError):
            pass
    return str(ctype.label)


def criteria_of(stage_ids: Iterable[int]) -> dict[int, list[StageCriterion]]:
    """The active criteria of the given stages, in order (one query)."""
    ids = list(stage_ids)
    result: dict[int, list[StageCriterion]] = {pk: [] for pk in ids}
    if not ids:
        return result
    for criterion in StageCriterion.objects.filter(stage_id__in=ids, is_active=True).order_by("position", "id"):
        result[criterion.stage_id].append(criterion)
    return result


def evaluate(
    opportunities: Sequence[Opportunity], criteria: Sequence[StageCriterion]
) -> dict[int, list[CriterionResult]]:
    """Every criterion in ``criteria`` evaluated for every deal: ``{opp id: [results]}``.
    One ``load`` per criterion type used (see the module docstring)."""
    opp_ids = [opp.pk for opp in opportunities]
    by_kind: dict[str, list[StageCriterion]] = {}
    for criterion in criteria:
        if criterion.kind in _TYPES:
            by_kind.setdefault(criterion.kind, []).append(criterion)
    loaded: dict[str, Any] = {}
    for kind, of_kind in by_kind.items():
        load = _TYPES[kind].load
        loaded[kind] = load(opp_ids, of_kind) if load is not None and opp_ids else None
    results: dict[int, list[CriterionResult]] = {}
    for opp in opportunities:
        rows: list[CriterionResult] = []
        for criterion in criteria:
            ctype = _TYPES.get(criterion.kind)
            if ctype is None:
                continue
            explanation = ctype.check(opp, criterion, loaded[criterion.kind])
            ticked_by = ""
            if ctype.manual and explanation is None and isinstance(loaded[criterion.kind], Mapping):
                ticked_by = str(loaded[criterion.kind].get((opp.pk, criterion.pk), ""))
            rows.append(
                CriterionResult(
                    criterion=criterion,
                    met=explanation is None,
                    explanation=str(explanation or ""),
                    manual=ctype.manual,
                    ticked_by=ticked_by,
                )
            )
        results[opp.pk] = rows
    return results


def unmet_criteria(opportunity: Opportunity, stage: Stage) -> list[CriterionResult]:
    """The entry criteria of ``stage`` that ``opportunity`` does not meet (in order)."""
    criteria = criteria_of([stage.pk])[stage.pk]
    if not criteria:
        return []
    return [r for r in evaluate([opportunity], criteria)[opportunity.pk] if not r.met]


@dataclass
class StageChecklist:
    """The checklist of one stage for one deal (the deal page's panel)."""

    stage: Stage
    results: list[CriterionResult] = field(default_factory=list)
    current: bool = False

    @property
    def met_count(self) -> int:
        return sum(1 for r in self.results if r.met)

    @property
    def all_met(self) -> bool:
        return all(r.met for r in self.results)


def next_open_stage(opportunity: Opportunity) -> Stage | None:
    """The active open stage after the deal's current one (one query)."""
    return (
        Stage.objects.filter(
            pipeline_id=opportunity.pipeline_id,
            kind="open",
            is_active=True,
            position__gt=opportunity.stage.position,
        )
        .order_by("position")
        .first()
    )


def opportunity_checklist(opportunity: Opportunity) -> list[StageChecklist]:
    """The checklists of the deal's current stage and of the next open stage (the won
    stage when there is no further open stage), each criterion met or not. A constant
    number of queries: the next stage, the criteria, one load per criterion type."""
    stages = [opportunity.stage]
    following = next_open_stage(opportunity) if opportunity.is_open else None
    if following is None and opportunity.is_open:
        following = (
            Stage.objects.filter(pipeline_id=opportunity.pipeline_id, kind="won", is_active=True)
            .order_by("position")
            .first()
        )
    if following is not None:
        stages.append(following)
    criteria = criteria_of(s.pk for s in stages)
    everything = [c for s in stages for c in criteria[s.pk]]
    results = evaluate([opportunity], everything)[opportunity.pk] if everything else []
    by_stage: dict[int, list[CriterionResult]] = {}
    for result in results:
        by_stage.setdefault(result.criterion.stage_id, []).append(result)
    return [
        StageChecklist(stage=s, results=by_stage.get(s.pk, []), current=s.pk == opportunity.stage_id) for s in stages
    ]


class GateRefused(Conflict):
    """A forward move whose target stage's entry criteria are unmet (HTTP 409). ``unmet``
    lists them; the API adds ``"unmet": [{"id", "code", "label", "explanation"}]`` to the
    error envelope."""

    default_code = "gate_unmet"

    def __init__(self, stage: Stage, unmet: list[CriterionResult]) -> None:
        labels = "; ".join(r.label for r in unmet)
        super().__init__(
            _("The entry criteria of “%(stage)s” are not met: %(criteria)s.")
            % {"stage": stage.label, "criteria": labels}
        )
        self.stage = stage
        self.unmet = unmet
        self.data = {"unmet": [r.as_dict() for r in unmet]}


# -------------------------------------------------------------------- built-in types


def _no_params(raw: Any) -> dict[str, Any]:
    if raw in (None, "", {}):
        return {}
    if not isinstance(raw, dict):
        raise ValueError(_("Settings must be an object."))
    raise ValueError(
        _("This criterion type takes no settings (unknown: %(keys)s).") % {"keys": ", ".join(map(str, raw))}
    )


def _only_keys(raw: Any, allowed: set[str]) -> dict[str, Any]:
    if raw is None or raw == "":
        raw = {}
    if not isinstance(raw, dict):
        raise ValueError(_("Settings must be an object."))
    unknown = [str(k)[:50] for k in raw if k not in allowed]
    if unknown:
        raise ValueError(_("Unknown settings: %(keys)s.") % {"keys": ", ".join(unknown)})
    return raw


def choice_list(raw: Any, key: str, choices: Mapping[str, Any]) -> list[str]:
    """``raw[key]`` as a non-empty list of known choice codes (duplicates dropped)."""
    value = raw.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or len(value) > len(choices):
        raise ValueError(_("Choose at least one of: %(choices)s.") % {"choices": ", ".join(choices)})
    result: list[str] = []
    for item in value:
        if not isinstance(item, str) or item not in choices:
            raise ValueError(_("Choose at least one of: %(choices)s.") % {"choices": ", ".join(choices)})
        if item not in result:
            result.append(item)
    return result


#: the deal fields a "required fields" criterion may ask for
DEAL_FIELDS: dict[str, Promise] = {
    "amount": gettext_lazy("amount"),
    "expected_close_date": gettext_lazy("expected close date"),
    "next_step": gettext_lazy("next step"),
    "next_step_date": gettext_lazy("next step date"),
    "description": gettext_lazy("description"),
    "contact": gettext_lazy("a contact"),
}


def _join(items: Iterable[str]) -> str:
    from django.utils.translation import get_language

    return ("、" if (get_language() or "").startswith("zh") else ", ").join(items)


def _fields_clean(raw: Any) -> dict[str, Any]:
    raw = _only_keys(raw, {"fields"})
    return {"fields": choice_list(raw, "fields", DEAL_FIELDS)}


def _fields_describe(params: Mapping[str, Any]) -> str:
    names = [str(DEAL_FIELDS[f]) for f in params.get("fields", []) if f in DEAL_FIELDS]
    return _("Filled in: %(fields)s") % {"fields": _join(names)}


def _fields_load(opp_ids: list[int], criteria: list[StageCriterion]) -> set[int]:
    if not any("contact" in (c.params or {}).get("fields", []) for c in criteria):
        return set()
    return set(OpportunityContact.objects.filter(opportunity_id__in=opp_ids).values_list("opportunity_id", flat=True))


def _fields_check(opp: Opportunity, criterion: StageCriterion, with_contacts: set[int]) -> str | None:
    missing = []
    for name in (criterion.params or {}).get("fields", []):
        if name == "amount":
            empty = not opp.amount
        elif name == "contact":
            empty = opp.pk not in with_contacts
        elif name in ("next_step", "description"):
            empty = not str(getattr(opp, name) or "").strip()
        elif name in DEAL_FIELDS:
            empty = getattr(opp, name) is None
        else:
            continue
        if empty:
            missing.append(str(DEAL_FIELDS[name]))
    return _("Missing: %(fields)s.") % {"fields": _join(missing)} if missing else None


def _checklist_clean(raw: Any) -> dict[str, Any]:
    return _no_params(raw)


def _checklist_load(opp_ids: list[int], criteria: list[StageCriterion]) -> dict[tuple[int, int], str]:
    rows = OpportunityChecklistTick.objects.filter(
        opportunity_id__in=opp_ids, criterion_id__in=[c.pk for c in criteria]
    ).values_list("opportunity_id", "criterion_id", "ticked_by__display_name", "ticked_by__username")
    return {(o, c): (name or username or "") for o, c, name, username in rows}


def _checklist_check(opp: Opportunity, criterion: StageCriterion, ticks: dict[tuple[int, int], str]) -> str | None:
    return None if (opp.pk, criterion.pk) in ticks else _("Not ticked yet.")


def _decision_maker_load(opp_ids: list[int], criteria: list[StageCriterion]) -> set[int]:
    return set(
        OpportunityContact.objects.filter(opportunity_id__in=opp_ids, role=BuyingRole.DECISION_MAKER).values_list(
            "opportunity_id", flat=True
        )
    )


def _decision_maker_check(opp: Opportunity, criterion: StageCriterion, with_dm: set[int]) -> str | None:
    return None if opp.pk in with_dm else _("No contact on the deal has the decision-maker role.")


ATTACHMENT_KINDS = dict(AttachmentKind.choices)


def _attachment_clean(raw: Any) -> dict[str, Any]:
    raw = _only_keys(raw, {"kind"})
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in ATTACHMENT_KINDS:
        raise ValueError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(ATTACHMENT_KINDS)})
    return {"kind": kind}


def _attachment_describe(params: Mapping[str, Any]) -> str:
    return _("A “%(kind)s” attachment") % {"kind": ATTACHMENT_KINDS.get(params.get("kind", ""), "?")}


def _attachment_load(opp_ids: list[int], criteria: list[StageCriterion]) -> set[tuple[int, str]]:
    from salesflow.attachments.models import Attachment

    kinds = {(c.params or {}).get("kind") for c in criteria}
    ct = ContentType.objects.get_for_model(Opportunity)
    return set(
        Attachment.objects.filter(content_type=ct, object_id__in=opp_ids, kind__in=kinds).values_list(
            "object_id", "kind"
        )
    )


def _attachment_check(opp: Opportunity, criterion: StageCriterion, present: set[tuple[int, str]]) -> str | None:
    kind = (criterion.params or {}).get("kind", "")
    if (opp.pk, kind) in present:
        return None
    return _("No “%(kind)s” file is attached to the deal.") % {"kind": ATTACHMENT_KINDS.get(kind, kind)}


def register_builtin_types() -> None:
    """The types sales knows itself (called from ``SalesConfig.ready``)."""
    register_criterion_type(
        CriterionType(
            code="fields",
            label=gettext_lazy("Required fields"),
            help_text=gettext_lazy("Deal fields that must be filled in."),
            clean_params=_fields_clean,
            load=_fields_load,
            check=_fields_check,
            describe=_fields_describe,
            params_spec=(ParamSpec("fields", gettext_lazy("Fields"), tuple(DEAL_FIELDS.items()), multiple=True),),
        )
    )
    register_criterion_type(
        CriterionType(
            code="checklist",
            label=gettext_lazy("Checklist item"),
            help_text=gettext_lazy("Ticked by hand on the deal; give it a label."),
            clean_params=_checklist_clean,
            load=_checklist_load,
            check=_checklist_check,
            manual=True,
        )
    )
    register_criterion_type(
        CriterionType(
            code="decision_maker",
            label=gettext_lazy("A contact with the decision-maker role"),
            clean_params=_no_params,
            load=_decision_maker_load,
            check=_decision_maker_check,
        )
    )
    register_criterion_type(
        CriterionType(
            code="attachment",
            label=gettext_lazy("An attachment of a given kind"),
            clean_params=_attachment_clean,
            load=_attachment_load,
            check=_attachment_check,
            describe=_attachment_describe,
            params_spec=(ParamSpec("kind", gettext_lazy("Attachment kind"), tuple(AttachmentKind.choices)),),
        )
    )
