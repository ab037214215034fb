"""Writes for pipeline configuration: pipelines and their stages.

Configuration is data edited by administrators (the Django admin calls these services),
and it must stay safe to edit while deals use it:

- exactly one default among the active pipelines (unsetting or hiding the default is
  refused; making another pipeline the default moves the mark);
- a stage's kind cannot change while deals sit in it, and a stage that deals sit in
  cannot be hidden (they must be moved first); a used stage is hidden, not deleted;
- a pipeline that had an active open, won and lost stage keeps one of each;
- at most one open stage per pipeline is its BANT stage (``is_bant_gate``): marking
  another stage moves the mark; leads converted with a complete BANT start after it;
- reordering renumbers in two phases inside the transaction, so it never meets the
  unique (pipeline, position) constraint halfway.

Every change is audited (``sales.pipeline.*``, ``sales.stage.*``) in the same
transaction. Only administrators may call these (``Forbidden`` otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from salesflow.core.audit import changed_fields, record_event
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.sales.choices import ForecastCategory, StageKind
from salesflow.sales.models import Opportunity, Pipeline, Stage, StageChange
from salesflow.users.models import User

PIPELINE_FIELDS = ("code", "name_en", "name_zh", "is_default", "is_active", "position")
STAGE_FIELDS = (
    "code",
    "name_en",
    "name_zh",
    "probability",
    "forecast_category",
    "kind",
    "rotting_days",
    "guidance_en",
    "guidance_zh",
    "is_active",
    "is_bant_gate",
)
# Positions are moved out of the way by this much during a reorder (phase one).
_REORDER_OFFSET = 1_000_000


def _require_admin(actor: User | None) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_admin:
        raise Forbidden(_("Only administrators may change the sales pipelines."))


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("The pipeline configuration could not be saved."), field_errors={field: [message]})


# --------------------------------------------------------------------- pipelines


def _check_pipeline(pipeline: Pipeline, errors: dict[str, list[str]]) -> None:
    if not pipeline.code.strip():
        errors["code"] = [_("This field is required.")]
    elif Pipeline.objects.filter(code=pipeline.code).exclude(pk=pipeline.pk).exists():
        errors["code"] = [_("Another pipeline uses this code.")]
    if not (pipeline.name_en.strip() or pipeline.name_zh.strip()):
        errors["name_en"] = [_("Give the pipeline a name.")]
    if pipeline.is_default and not pipeline.is_active:
        errors["is_active"] = [_("The default pipeline must be active; make another pipeline the default first.")]


def _settle_default(pipeline: Pipeline, was_default: bool) -> None:
    """Keep exactly one default among the active pipelines after ``pipeline`` changed."""
    if pipeline.is_default:
        Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(is_default=False)
    elif was_default:
        raise _fail("is_default", _("There must be a default pipeline; make another pipeline the default instead."))
    elif pipeline.is_active and not Pipeline.objects.filter(is_default=True, is_active=True).exists():
        # No default yet (first pipeline, or data edited outside the services): this one.
        pipeline.is_default = True


@transaction.atomic
def pipeline_create(
    *,
    actor: User,
    code: str,
    name_en: str,
    name_zh: str,
    is_default: bool = False,
    is_active: bool = True,
    position: int = 0,
) -> Pipeline:
    """Create a pipeline (without stages; add them with ``stage_create``).

    Making it the default takes the mark from the previous default; the first active
    pipeline becomes the default on its own. Raises ``Forbidden`` for non-admins and
    ``ValidationFailed`` for a blank or taken code, no name, or an inactive default.
    Audits ``sales.pipeline.created`` with ``{"code", "is_default", "is_active"}``.
    """
    _require_admin(actor)
    pipeline = Pipeline(
        code=code.strip(),
        name_en=name_en.strip(),
        name_zh=name_zh.strip(),
        is_default=is_default,
        is_active=is_active,
        position=position,
    )
    errors: dict[str, list[str]] = {}
    _check_pipeline(pipeline, errors)
    if errors:
        raise ValidationFailed(_("The pipeline configuration could not be saved."), field_errors=errors)
    if pipeline.is_default:
        Pipeline.objects.filter(is_default=True).update(is_default=False)
    elif is_active and not Pipeline.objects.filter(is_default=True, is_active=True).exists():
        pipeline.is_default = True
    pipeline.save()
    record_event(
        actor=actor,
        verb="sales.pipeline.created",
        target=pipeline,
        data={"code": pipeline.code, "is_default": pipeline.is_default, "is_active": pipeline.is_active},
    )
    return pipeline


def pipeline_update_errors(pipeline: Pipeline, values: dict[str, Any]) -> dict[str, list[str]]:
    """The refusals of ``pipeline_update`` about the default mark: unsetting it on the
    stored default, or hiding the default. Forms call it to show the error next to the
    checkbox; the service checks again under its lock."""
    stored = Pipeline.objects.filter(pk=pipeline.pk).values("is_default", "is_active").first()
    if stored is None:
        return {}
    is_default = values.get("is_default", stored["is_default"])
    is_active = values.get("is_active", stored["is_active"])
    if stored["is_default"] and not is_default:
        return {"is_default": [_("There must be a default pipeline; make another pipeline the default instead.")]}
    if is_default and not is_active:
        return {"is_active": [_("The default pipeline must be active; make another pipeline the default first.")]}
    return {}


@transaction.atomic
def pipeline_update(*, actor: User, pipeline: Pipeline, **values: Any) -> Pipeline:
    """Change fields of ``pipeline`` (any of ``PIPELINE_FIELDS``).

    Setting ``is_default`` moves the mark from the previous default. Unsetting it on
    the default, or hiding the default, is refused: there is always exactly one default
    among the active pipelines, so deal creation and lead conversion always find one.
    Raises ``Forbidden`` for non-admins and ``ValidationFailed`` (nothing written) as in
    ``pipeline_create``. Audits ``sales.pipeline.updated`` with ``{"code",
    "changes": {field: [old, new]}}``; a change of nothing writes nothing.
    """
    _require_admin(actor)
    unknown = set(values) - set(PIPELINE_FIELDS)
    if unknown:
        raise _fail(sorted(unknown)[0], _("This field cannot be changed here."))
    current = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    before = {key: getattr(current, key) for key in values}
    for key, value in values.items():
        setattr(current, key, value.strip() if isinstance(value, str) else value)
    changes = changed_fields(before, {key: getattr(current, key) for key in values})
    if not changes:
        return pipeline
    errors: dict[str, list[str]] = {}
    _check_pipeline(current, errors)
    if errors:
        raise ValidationFailed(_("The pipeline configuration could not be saved."), field_errors=errors)
    _settle_default(current, was_default=before.get("is_default", current.is_default) is True)
    current.save()
    for key in PIPELINE_FIELDS:
        setattr(pipeline, key, getattr(current, key))
    record_event(
        actor=actor,
        verb="sales.pipeline.updated",
        target=current,
        data={"code": current.code, "changes": changes},
    )
    return pipeline


@transaction.atomic
def pipeline_delete(*, actor: User, pipeline: Pipeline) -> None:
    """Delete a pipeline that was never used, with its stages.

    Refused (``ValidationFailed``) for the default pipeline and for a pipeline with
    deals or stage history: hide it (``is_active=False``) instead. Raises ``Forbidden``
    for non-admins. Audits ``sales.pipeline.deleted`` with ``{"code"}`` (written before
    the row goes).
    """
    _require_admin(actor)
    if pipeline.is_default:
        raise _fail("is_default", _("The default pipeline cannot be deleted; make another pipeline the default first."))
    used = (
        Opportunity.objects.filter(pipeline=pipeline).exists()
        or StageChange.objects.filter(to_stage__pipeline=pipeline).exists()
    )
    if used:
        raise _fail("is_active", _("This pipeline has deals or history; hide it instead of deleting it."))
    record_event(actor=actor, verb="sales.pipeline.deleted", target=pipeline, data={"code": pipeline.code})
    pipeline.delete()


# ------------------------------------------------------------------------ stages


def _check_stage(stage: Stage, errors: dict[str, list[str]]) -> None:
    if not stage.code.strip():
        errors["code"] = [_("This field is required.")]
    elif Stage.objects.filter(pipeline_id=stage.pipeline_id, code=stage.code).exclude(pk=stage.pk).exists():
        errors["code"] = [_("Another stage of this pipeline uses this code.")]
    if not (stage.name_en.strip() or stage.name_zh.strip()):
        errors["name_en"] = [_("Give the stage a name.")]
    if not isinstance(stage.probability, int) or not 0 <= stage.probability <= 100:
        errors["probability"] = [_("Enter a whole number from 0 to 100.")]
    if stage.forecast_category not in ForecastCategory.values:
        errors["forecast_category"] = [_("Select a valid forecast category.")]
    if stage.kind not in StageKind.values:
        errors["kind"] = [_("Select a valid kind.")]
    if stage.is_bant_gate and stage.kind != StageKind.OPEN:
        errors["is_bant_gate"] = [_("Only an open stage can be the BANT qualification stage.")]


def _settle_bant_gate(stage: Stage) -> None:
    """One BANT stage per pipeline: marking ``stage`` unmarks the pipeline's others."""
    if stage.is_bant_gate:
        Stage.objects.filter(pipeline_id=stage.pipeline_id, is_bant_gate=True).exclude(pk=stage.pk).update(
            is_bant_gate=False
        )


def _active_kinds(pipeline_id: int) -> set[str]:
    return set(Stage.objects.filter(pipeline_id=pipeline_id, is_active=True).values_list("kind", flat=True))


def _keep_shape(pipeline_id: int, kinds_before: set[str], field: str) -> None:
    """Refuse a change that leaves the pipeline without an active stage of a kind it had."""
    missing = kinds_before - _active_kinds(pipeline_id)
    if missing:
        kind = StageKind(sorted(missing)[0]).label
        raise _fail(field, _("The pipeline needs an active “%(kind)s” stage.") % {"kind": kind})


def _next_position(pipeline: Pipeline) -> int:
    top = Stage.objects.filter(pipeline=pipeline).aggregate(top=Max("position"))["top"]
    return (top or 0) + 1


@transaction.atomic
def stage_create(
    *,
    actor: User,
    pipeline: Pipeline,
    code: str,
    name_en: str,
    name_zh: str,
    probability: int,
    forecast_category: str = ForecastCategory.PIPELINE,
    kind: str = StageKind.OPEN,
    position: int | None = None,
    rotting_days: int | None = None,
    guidance_en: str = "",
    guidance_zh: str = "",
    is_active: bool = True,
    is_bant_gate: bool = False,
) -> Stage:
    """Add a stage to ``pipeline``, last unless ``position`` is given (the stages from
    that position on move down one place). Raises ``Forbidden`` for non-admins and
    ``ValidationFailed`` for a blank or taken code, no name, a probability outside
    0–100 or an unknown kind / forecast category. Audits ``sales.stage.created`` with
    ``{"pipeline", "code", "kind", "position"}``.
    """
    _require_admin(actor)
    stage = Stage(
        pipeline=pipeline,
        code=code.strip(),
        name_en=name_en.strip(),
        name_zh=name_zh.strip(),
        probability=probability,
        forecast_category=forecast_category,
        kind=kind,
        rotting_days=rotting_days,
        guidance_en=guidance_en,
        guidance_zh=guidance_zh,
        is_active=is_active,
        is_bant_gate=is_bant_gate,
        position=_next_position(pipeline),
    )
    errors: dict[str, list[str]] = {}
    _check_stage(stage, errors)
    if errors:
        raise ValidationFailed(_("The stage could not be saved."), field_errors=errors)
    _settle_bant_gate(stage)
    stage.save()
    if position is not None:
        order = [s for s in Stage.objects.filter(pipeline=pipeline).exclude(pk=stage.pk).order_by("position", "id")]
        index = max(0, min(len(order), position - 1))
        _renumber(pipeline, [*order[:index], stage, *order[index:]])
        stage.refresh_from_db(fields=["position"])
    record_event(
        actor=actor,
        verb="sales.stage.created",
        target=stage,
        data={"pipeline": pipeline.code, "code": stage.code, "kind": stage.kind, "position": stage.position},
        related=[pipeline],
    )
    return stage


def stage_update_errors(stage: Stage, values: dict[str, Any]) -> dict[str, list[str]]:
    """The refusals of ``stage_update`` that depend on the deals in ``stage``: changing
    its ``kind`` or hiding it (``is_active=False``) while deals sit in it. Forms call it
    to show the error next to the field; the service checks it again under its lock."""
    errors: dict[str, list[str]] = {}
    stored = Stage.objects.filter(pk=stage.pk).values("kind", "is_active").first()
    if stored is None:
        return errors
    changing_kind = "kind" in values and values["kind"] != stored["kind"]
    hiding = "is_active" in values and not values["is_active"] and stored["is_active"]
    if (changing_kind or hiding) and Opportunity.objects.filter(stage_id=stage.pk).exists():
        if changing_kind:
            errors["kind"] = [_("Deals are in this stage; move them before changing its kind.")]
        if hiding:
            errors["is_active"] = [_("Deals are in this stage; move them before hiding it.")]
    return errors


@transaction.atomic
def stage_update(*, actor: User, stage: Stage, **values: Any) -> Stage:
    """Change fields of ``stage`` (any of ``STAGE_FIELDS``; positions change through
    ``stage_reorder``).

    Refused (``ValidationFailed``, nothing written) when the kind changes or the stage is
    hidden while deals sit in it (move them first), when the pipeline would be left
    without an active open, won or lost stage it had, and for the field errors of
    ``stage_create``. Hidden stages take no new deals and leave the board and the stage
    pickers; their history stays readable. Raises ``Forbidden`` for non-admins. Audits
    ``sales.stage.updated`` with ``{"pipeline", "code", "changes": {field: [old,
    new]}}``; a change of nothing writes nothing.
    """
    _require_admin(actor)
    unknown = set(values) - set(STAGE_FIELDS)
    if unknown:
        raise _fail(sorted(unknown)[0], _("This field cannot be changed here."))
    current = Stage.objects.select_for_update().select_related("pipeline").get(pk=stage.pk)
    before = {key: getattr(current, key) for key in values}
    for key, value in values.items():
        setattr(current, key, value.strip() if isinstance(value, str) and key == "code" else value)
    changes = changed_fields(before, {key: getattr(current, key) for key in values})
    if not changes:
        return stage
    errors: dict[str, list[str]] = {}
    _check_stage(current, errors)
    errors.update(stage_update_errors(stage, {key: getattr(current, key) for key in changes}))
    if errors:
        raise ValidationFailed(_("The stage could not be saved."), field_errors=errors)
    kinds_before = _active_kinds(current.pipeline_id)
    _settle_bant_gate(current)
    current.save()
    _keep_shape(current.pipeline_id, kinds_before, "kind" if "kind" in changes else "is_active")
    for key in STAGE_FIELDS:
        setattr(stage, key, getattr(current, key))
    record_event(
        actor=actor,
        verb="sales.stage.updated",
        target=current,
        data={"pipeline": current.pipeline.code, "code": current.code, "changes": changes},
        related=[current.pipeline],
    )
    return stage


@transaction.atomic
def stage_delete(*, actor: User, stage: Stage) -> None:
    """Delete a stage that was never used (no deals in it and no stage history).

    A used stage is hidden instead (``stage_update(is_active=False)``) so its history
    stays readable; deleting it is refused with ``ValidationFailed``, as is deleting the
    pipeline's last active stage of a kind. The remaining stages keep their order.
    Raises ``Forbidden`` for non-admins. Audits ``sales.stage.deleted`` with
    ``{"pipeline", "code", "kind", "position"}``.
    """
    _require_admin(actor)
    used = (
        Opportunity.objects.filter(stage=stage).exists()
        or StageChange.objects.filter(to_stage=stage).exists()
        or StageChange.objects.filter(from_stage=stage).exists()
    )
    if used:
        raise _fail("is_active", _("This stage was used by deals; hide it instead of deleting it."))
    pipeline = stage.pipeline
    kinds_before = _active_kinds(pipeline.pk)
    record_event(
        actor=actor,
        verb="sales.stage.deleted",
        target=stage,
        data={"pipeline": pipeline.code, "code": stage.code, "kind": stage.kind, "position": stage.position},
        related=[pipeline],
    )
    stage.delete()
    _keep_shape(pipeline.pk, kinds_before, "kind")


def _renumber(pipeline: Pipeline, order: Sequence[Stage]) -> list[tuple[int, int]]:
    """Give the stages of ``order`` positions 1…n in two phases: first out of the way
    (current position + offset, all distinct), then to their final places. Neither
    phase can meet the unique (pipeline, position) constraint, whatever the database
    checks it per row (SQLite, PostgreSQL without deferral). Returns ``(old, new)``
    positions per stage that moved."""
    moved = [(s, s.position, index) for index, s in enumerate(order, start=1) if s.position != index]
    for stage, old, _new in moved:
        Stage.objects.filter(pk=stage.pk).update(position=old + _REORDER_OFFSET)
    for stage, _old, new in moved:
        Stage.objects.filter(pk=stage.pk).update(position=new)
        stage.position = new
    return [(old, new) for _stage, old, new in moved]


@transaction.atomic
def stage_reorder(*, actor: User, pipeline: Pipeline, stages: Sequence[Stage]) -> list[Stage]:
    """Put the stages of ``pipeline`` in the order of ``stages`` (positions 1…n).

    ``stages`` must list every stage of the pipeline exactly once. The pipeline row is
    locked so two reorders serialise. Stage history is unaffected: each ``StageChange``
    keeps the positions of its time. Raises ``Forbidden`` for non-admins and
    ``ValidationFailed`` for a list that is not exactly the pipeline's stages. Audits
    ``sales.stage.reordered`` (target: the pipeline) with ``{"pipeline", "order":
    [codes], "before": [codes]}`` when the order changed.
    """
    _require_admin(actor)
    Pipeline.objects.select_for_update().filter(pk=pipeline.pk).values_list("pk").first()
    current = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))
    wanted_ids = [s.pk for s in stages]
    if sorted(wanted_ids) != sorted(s.pk for s in current) or len(set(wanted_ids)) != len(wanted_ids):
        raise _fail("stages", _("List every stage of the pipeline exactly once."))
    by_id = {s.pk: s for s in current}
    order = [by_id[pk] for pk in wanted_ids]
    before_codes = [s.code for s in current]
    moved = _renumber(pipeline, order)
    for stage in stages:
        stage.position = by_id[stage.pk].position
    if moved:
        record_event(
            actor=actor,
            verb="sales.stage.reordered",
            target=pipeline,
            data={"pipeline": pipeline.code, "order": [s.code for s in order], "before": before_codes},
        )
    return order
