"""Writes of stage gates: the entry criteria of stages (administrators) and the checklist
ticks on deals (whoever may write the deal). The move services enforce the gates
(``salesflow.sales.services.opportunity_move_stage`` / ``opportunity_close``)."""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.audit import changed_fields, in_every_language, record_event
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.sales.gates import criterion_label, criterion_type
from salesflow.sales.models import Opportunity, OpportunityChecklistTick, Stage, StageCriterion
from salesflow.sales.permissions import can_write_opportunity
from salesflow.users.models import User
from salesflow.users.policy import unrestricted

LABEL_MAX = 200
POSITION_MAX = 10_000
#: criteria per stage (a gate of fifty conditions is a configuration mistake)
CRITERIA_PER_STAGE_MAX = 30


class CriterionChanges(TypedDict, total=False):
    """The fields ``stage_criterion_update`` may change."""

    kind: str
    params: Any
    label_en: str
    label_zh: str
    position: int
    is_active: bool


CRITERION_FIELDS: frozenset[str] = frozenset(CriterionChanges.__annotations__)


def _require_admin(actor: User) -> None:
    if not (actor.is_authenticated and unrestricted(actor)):
        raise Forbidden(_("Only administrators may change entry criteria."))


def _clean(values: dict[str, Any], message: str) -> dict[str, Any]:
    """Validate a criterion's fields (all present in ``values``); field errors name them."""
    errors: dict[str, list[str]] = {}
    kind = values["kind"]
    ctype = criterion_type(kind) if isinstance(kind, str) else None
    if ctype is None:
        errors["kind"] = [_("Select a valid criterion type.")]
    else:
        try:
            values["params"] = ctype.clean_params(values["params"])
        except ValueError as exc:
            errors["params"] = [str(exc)]
    for key in ("label_en", "label_zh"):
        text = values[key]
        if not isinstance(text, str):
            errors[key] = [_("Enter text.")]
            continue
        text = text.strip()
        if len(text) > LABEL_MAX:
            errors[key] = [_("Use at most %(max)d characters.") % {"max": LABEL_MAX}]
        elif any(ord(ch) < 32 or ch == "\x7f" for ch in text):
            errors[key] = [_("Remove the control characters.")]
        values[key] = text
    if ctype is not None and ctype.manual and not (values["label_en"] or values["label_zh"]) and not errors:
        errors["label_en"] = [_("A checklist item needs a label.")]
    position = values["position"]
    if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= POSITION_MAX:
        errors["position"] = [_("Enter a whole number from 0 to %(max)d.") % {"max": POSITION_MAX}]
    if not isinstance(values["is_active"], bool):
        errors["is_active"] = [_("Enter true or false.")]
    if errors:
        raise ValidationFailed(message, field_errors=errors)
    return values


@transaction.atomic
def stage_criterion_create(
    *,
    actor: User,
    stage: Stage,
    kind: str,
    params: Any = None,
    label_en: str = "",
    label_zh: str = "",
    position: int | None = None,
    is_active: bool = True,
) -> StageCriterion:
    """Add an entry criterion to ``stage`` (administrators only, else ``Forbidden``).
    ``kind`` must be a registered criterion type and ``params`` valid for it (the type's
    ``clean_params``); a checklist item needs a label; labels at most 200 characters.
    ``position`` defaults to after the last one. At most 30 criteria per stage.
    ``ValidationFailed`` names the field; audits ``sales.stage_criterion.created`` on the stage."""
    _require_admin(actor)
    message = _("The entry criterion could not be saved.")
    Stage.objects.select_for_update().filter(pk=stage.pk).values_list("pk").first()
    existing = StageCriterion.objects.filter(stage=stage)
    if existing.count() >= CRITERIA_PER_STAGE_MAX:
        raise ValidationFailed(
            message,
            field_errors={"kind": [_("A stage has at most %(max)d criteria.") % {"max": CRITERIA_PER_STAGE_MAX}]},
        )
    if position is None:
        last = existing.order_by("-position").values_list("position", flat=True).first()
        position = 0 if last is None else min(last + 1, POSITION_MAX)
    values = _clean(
        {
            "kind": kind,
            "params": params,
            "label_en": label_en,
            "label_zh": label_zh,
            "position": position,
            "is_active": is_active,
        },
        message,
    )
    criterion = StageCriterion.objects.create(stage=stage, **values)
    record_event(
        actor=actor,
        verb="sales.stage_criterion.created",
        target=stage,
        data={
            "criterion": criterion.pk,
            "stage": stage.code,
            "kind": criterion.kind,
            "params": criterion.params,
            "summary": in_every_language(lambda: criterion_label(criterion)),
        },
    )
    return criterion


@transaction.atomic
def stage_criterion_update(
    *, actor: User, criterion: StageCriterion, **changes: Unpack[CriterionChanges]
) -> StageCriterion:
    """Change the given fields of an entry criterion (administrators only). Same rules as
    ``stage_criterion_create``; changing ``kind`` re-checks ``params``. Audits
    ``sales.stage_criterion.updated`` with ``changes``; a change of nothing writes nothing."""
    _require_admin(actor)
    message = _("The entry criterion could not be saved.")
    refuse_unknown_fields(changes, CRITERION_FIELDS, message)
    current = {key: getattr(criterion, key) for key in CRITERION_FIELDS}
    values = _clean({**current, **changes}, message)
    diff = changed_fields(current, values)
    if not diff:
        return criterion
    for key, value in values.items():
        setattr(criterion, key, value)
    criterion.save(update_fields=[*diff, "updated_at"])
    record_event(
        actor=actor,
        verb="sales.stage_criterion.updated",
        target=criterion.stage,
        data={
            "criterion": criterion.pk,
            "stage": criterion.stage.code,
            "changes": diff,
            "summary": in_every_language(lambda: criterion_label(criterion)),
        },
    )
    return criterion


@transaction.atomic
def stage_criterion_delete(*, actor: User, criterion: StageCriterion) -> None:
    """Remove an entry criterion (administrators only) with the deals' ticks of it (the
    audit trail keeps who ticked what). Audits ``sales.stage_criterion.deleted``."""
    _require_admin(actor)
    stage = criterion.stage
    record_event(
        actor=actor,
        verb="sales.stage_criterion.deleted",
        target=stage,
        data={
            "criterion": criterion.pk,
            "stage": stage.code,
            "kind": criterion.kind,
            "summary": in_every_language(lambda: criterion_label(criterion)),
        },
    )
    criterion.delete()


@transaction.atomic
def opportunity_checklist_tick(
    *, actor: User, opportunity: Opportunity, criterion: StageCriterion, ticked: bool = True
) -> bool:
    """Tick (or untick) a checklist criterion on a deal. Returns whether anything changed.

    The criterion must be an active checklist item (a manual criterion type) of the
    deal's pipeline (else ``ValidationFailed`` on ``criterion``); the deal must be open
    (``Conflict``); ``actor`` must be able to write the deal (``Forbidden``). Ticking
    twice is a no-op (a concurrent double tick is caught by the unique key). Audits
    ``sales.opportunity.checklist_ticked`` / ``checklist_unticked`` on the deal."""
    if not can_write_opportunity(actor, opportunity):
        raise Forbidden(_("You may not change this opportunity."))
    ctype = criterion_type(criterion.kind)
    stage = criterion.stage
    if ctype is None or not ctype.manual or not criterion.is_active or stage.pipeline_id != opportunity.pipeline_id:
        raise ValidationFailed(
            _("The checklist could not be changed."),
            field_errors={"criterion": [_("This is not a checklist item of the deal's pipeline.")]},
        )
    if not opportunity.is_open:
        raise Conflict(_("Only open opportunities have a checklist to tick."), code="not_open")
    existing = OpportunityChecklistTick.objects.filter(opportunity=opportunity, criterion=criterion)
    if ticked:
        if existing.exists():
            return False
        try:
            with transaction.atomic():
                OpportunityChecklistTick.objects.create(
                    opportunity=opportunity,
                    criterion=criterion,
                    ticked_by=actor if actor.pk else None,
                    ticked_at=timezone.now(),
                )
        except IntegrityError:
            return False
    elif not existing.delete()[0]:
        return False
    label = criterion_label(criterion)
    record_event(
        actor=actor,
        verb="sales.opportunity.checklist_ticked" if ticked else "sales.opportunity.checklist_unticked",
        target=opportunity,
        data={
            "criterion": criterion.pk,
            "stage": stage.code,
            "label": label,
            "summary": in_every_language(lambda: criterion_label(criterion)),
        },
        related=[opportunity.account],
    )
    return True


def stage_criteria_copy(source: Stage, target: Stage) -> None:
    """Copy ``source``'s entry criteria (active or not, in order) to ``target``: the stage
    copier ``pipeline_copy`` calls for every stage it copies, inside its transaction (its
    ``sales.pipeline.copied`` event covers the copy). Checklist ticks stay with the old deals."""
    StageCriterion.objects.bulk_create(
        StageCriterion(
            stage=target,
            kind=c.kind,
            params=c.params,
            label_en=c.label_en,
            label_zh=c.label_zh,
            position=c.position,
            is_active=c.is_active,
        )
        for c in StageCriterion.objects.filter(stage=source).order_by("position", "pk")
    )
