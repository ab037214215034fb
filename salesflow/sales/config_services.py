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

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from salesflow.core.audit import changed_fields, record_event
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.sales.choices import ForecastCategory, StageKind, StallRecipient
from salesflow.sales.models import (
    Opportunity,
    Pipeline,
    Stage,
    StageChange,
    StallEscalationStep,
    TeamDefaultPipeline,
    TeamPipeline,
)
from salesflow.sales.selectors import refresh_stage_ranks
from salesflow.users.models import Team, User

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
# Codes are slugs (URLs, the API's ``pipeline``/``stage`` references, imports).
_CODE_RE = re.compile(r"[-a-zA-Z0-9_]{1,50}")
# Control characters (NUL included: PostgreSQL refuses it in text) are never stored;
# guidance keeps its line breaks and tabs.
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
NAME_MAX = 100
GUIDANCE_MAX = 2000
ROTTING_DAYS_MAX = 3650


def _require_admin(actor: User | None) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_admin:
        raise Forbidden(_("Only administrators may change the sales pipelines."))


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("The pipeline configuration could not be saved."), field_errors={field: [message]})


# --------------------------------------------------------------------- pipelines

# The stages of a pipeline created from the settings page: code, en, zh, probability,
# forecast category, kind.
STARTER_STAGES = (
    ("new", "New", "新商机", 10, ForecastCategory.PIPELINE, StageKind.OPEN),
    ("won", "Won", "赢单", 100, ForecastCategory.CLOSED, StageKind.WON),
    ("lost", "Lost", "输单", 0, ForecastCategory.OMITTED, StageKind.LOST),
)


def _check_code(code: object, errors: dict[str, list[str]]) -> bool:
    """A code is 1–50 letters, digits, hyphens or underscores; ``False`` when it is not."""
    if not isinstance(code, str) or not code.strip():
        errors["code"] = [_("This field is required.")]
        return False
    if not _CODE_RE.fullmatch(code):
        errors["code"] = [_("Use at most 50 letters, digits, hyphens or underscores.")]
        return False
    return True


def _check_texts(obj: Any, fields: dict[str, int], errors: dict[str, list[str]], *, multiline: bool = False) -> None:
    """Text fields: strings, at most ``max`` characters, no control characters."""
    pattern = _CONTROL_MULTILINE if multiline else _CONTROL_ONE_LINE
    for field, limit in fields.items():
        value = getattr(obj, field)
        if not isinstance(value, str):
            errors[field] = [_("Enter text.")]
        elif len(value) > limit:
            errors[field] = [_("Use at most %(n)d characters.") % {"n": limit}]
        elif pattern.search(value):
            errors[field] = [_("Remove the control characters.")]


def _check_pipeline(pipeline: Pipeline, errors: dict[str, list[str]]) -> None:
    if _check_code(pipeline.code, errors) and (
        Pipeline.objects.filter(code=pipeline.code).exclude(pk=pipeline.pk).exists()
    ):
        errors["code"] = [_("Another pipeline uses this code.")]
    _check_texts(pipeline, {"name_en": NAME_MAX, "name_zh": NAME_MAX}, errors)
    if (
        not errors.get("name_en")
        and not errors.get("name_zh")
        and not (pipeline.name_en.strip() or pipeline.name_zh.strip())
    ):
        errors["name_en"] = [_("Give the pipeline a name.")]
    for flag in ("is_default", "is_active"):
        if not isinstance(getattr(pipeline, flag), bool):
            errors[flag] = [_("Enter true or false.")]
    position = pipeline.position
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 1_000_000:
        errors["position"] = [_("Enter a whole number from 0 to 1000000.")]
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
    starter_stages: bool = False,
) -> Pipeline:
    """Create a pipeline, without stages (add them with ``stage_create``) or, with
    ``starter_stages``, with one open stage and the won and lost stages, so it can take
    deals at once (the settings page creates pipelines this way).

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
    if starter_stages:
        for position_, (code_, en, zh, probability, forecast, kind) in enumerate(STARTER_STAGES, start=1):
            Stage.objects.create(
                pipeline=pipeline,
                code=code_,
                name_en=en,
                name_zh=zh,
                position=position_,
                probability=probability,
                forecast_category=forecast,
                kind=kind,
            )
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
    if "is_default" in changes and current.is_default and TeamPipeline.objects.filter(pipeline=current).exists():
        errors["is_default"] = [
            _("The default pipeline is available to every team: clear its teams before making it the default.")
        ]
    if "is_active" in changes and current.is_active:
        missing = {str(k) for k in (StageKind.OPEN, StageKind.WON, StageKind.LOST)} - _active_kinds(current.pk)
        if missing:
            errors["is_active"] = [
                _("Add an active open stage, a won stage and a lost stage before turning the pipeline on.")
            ]
    if errors:
        raise ValidationFailed(_("The pipeline configuration could not be saved."), field_errors=errors)
    _settle_default(current, was_default=before.get("is_default", current.is_default) is True)
    current.save()
    if "position" in changes:
        refresh_stage_ranks(pipeline_ids=[current.pk])  # the deal list's stage sort follows
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
    if _check_code(stage.code, errors) and (
        Stage.objects.filter(pipeline_id=stage.pipeline_id, code=stage.code).exclude(pk=stage.pk).exists()
    ):
        errors["code"] = [_("Another stage of this pipeline uses this code.")]
    _check_texts(stage, {"name_en": NAME_MAX, "name_zh": NAME_MAX}, errors)
    _check_texts(stage, {"guidance_en": GUIDANCE_MAX, "guidance_zh": GUIDANCE_MAX}, errors, multiline=True)
    if not errors.get("name_en") and not errors.get("name_zh") and not (stage.name_en.strip() or stage.name_zh.strip()):
        errors["name_en"] = [_("Give the stage a name.")]
    probability = stage.probability
    if isinstance(probability, bool) or not isinstance(probability, int) or not 0 <= probability <= 100:
        errors["probability"] = [_("Enter a whole number from 0 to 100.")]
    elif stage.kind == StageKind.WON and probability != 100:
        errors["probability"] = [_("The won stage has a probability of 100%.")]
    elif stage.kind == StageKind.LOST and probability != 0:
        errors["probability"] = [_("The lost stage has a probability of 0%.")]
    rotting = stage.rotting_days
    if rotting is not None and (
        isinstance(rotting, bool) or not isinstance(rotting, int) or not 1 <= rotting <= ROTTING_DAYS_MAX
    ):
        errors["rotting_days"] = [
            _("Enter a whole number of days from 1 to %(max)d, or leave it empty.") % {"max": ROTTING_DAYS_MAX}
        ]
    if stage.forecast_category not in ForecastCategory.values:
        errors["forecast_category"] = [_("Select a valid forecast category.")]
    if stage.kind not in StageKind.values:
        errors["kind"] = [_("Select a valid kind.")]
    for flag in ("is_active", "is_bant_gate"):
        if not isinstance(getattr(stage, flag), bool):
            errors[flag] = [_("Enter true or false.")]
    if stage.is_bant_gate and stage.kind != StageKind.OPEN:
        errors["is_bant_gate"] = [_("Only an open stage can be the BANT qualification stage.")]
    if (
        "kind" not in errors
        and stage.kind in (StageKind.WON, StageKind.LOST)
        and stage.is_active is True
        and Stage.objects.filter(pipeline_id=stage.pipeline_id, kind=stage.kind, is_active=True)
        .exclude(pk=stage.pk)
        .exists()
    ):
        errors["kind"] = [
            _("The pipeline already has an active “%(kind)s” stage; it ends in exactly one won and one lost stage.")
            % {"kind": StageKind(stage.kind).label}
        ]


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

    A used stage is hidden instead (``stage_deactivate``) so its history stays readable;
    deleting it is refused with ``Conflict`` (409); ``ValidationFailed`` refuses deleting the
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
        raise Conflict(_("This stage was used by deals; hide it instead of deleting it."), code="stage_in_use")
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
    if moved:
        refresh_stage_ranks(pipeline_ids=[pipeline.pk])  # the deal list's stage sort follows
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


# ------------------------------------------------- copies, hiding, team pipelines

# Called as ``copier(source_stage, new_stage)`` for every stage ``pipeline_copy`` copies,
# inside its transaction: apps that hang data on stages (entry criteria, …) register one
# in ``AppConfig.ready()`` so a copy carries their rows too.
StageCopier = Callable[[Stage, Stage], None]
_STAGE_COPIERS: list[StageCopier] = []


def register_stage_copier(copier: StageCopier) -> None:
    if copier not in _STAGE_COPIERS:
        _STAGE_COPIERS.append(copier)


@transaction.atomic
def pipeline_copy(
    *,
    actor: User,
    source: Pipeline,
    code: str,
    name_en: str,
    name_zh: str,
    is_active: bool = True,
) -> Pipeline:
    """A deep copy of ``source`` under a new code and names: every stage (hidden ones
    too) with its names, probability, forecast category, kind, stall threshold,
    guidance, BANT mark and order, and whatever the registered stage copiers carry. The
    copy is never the default and is available to every team (no team links); deals and
    history stay with the source. A copy that is turned on must have an active open, won
    and lost stage. Raises ``Forbidden`` for non-admins and ``ValidationFailed``
    (nothing written) for a blank, malformed or taken code or no name. Audits
    ``sales.pipeline.copied`` with ``{"code", "source", "stages"}``.
    """
    _require_admin(actor)
    top = Pipeline.objects.aggregate(top=Max("position"))["top"] or 0
    pipeline = Pipeline(
        code=code.strip() if isinstance(code, str) else code,
        name_en=name_en.strip() if isinstance(name_en, str) else name_en,
        name_zh=name_zh.strip() if isinstance(name_zh, str) else name_zh,
        is_default=False,
        is_active=is_active,
        position=min(top + 1, 1_000_000),
    )
    errors: dict[str, list[str]] = {}
    _check_pipeline(pipeline, errors)
    stages = list(Stage.objects.filter(pipeline=source).order_by("position", "id"))
    needed = {str(k) for k in (StageKind.OPEN, StageKind.WON, StageKind.LOST)}
    if is_active and needed - {str(s.kind) for s in stages if s.is_active}:
        errors["is_active"] = [
            _("Add an active open stage, a won stage and a lost stage before turning the pipeline on.")
        ]
    if errors:
        raise ValidationFailed(_("The pipeline configuration could not be saved."), field_errors=errors)
    pipeline.save()
    for index, old in enumerate(stages, start=1):
        new = Stage.objects.create(
            pipeline=pipeline,
            code=old.code,
            name_en=old.name_en,
            name_zh=old.name_zh,
            position=index,
            probability=old.probability,
            forecast_category=old.forecast_category,
            kind=old.kind,
            rotting_days=old.rotting_days,
            guidance_en=old.guidance_en,
            guidance_zh=old.guidance_zh,
            is_active=old.is_active,
            is_bant_gate=old.is_bant_gate,
        )
        for copier in _STAGE_COPIERS:
            copier(old, new)
    record_event(
        actor=actor,
        verb="sales.pipeline.copied",
        target=pipeline,
        data={"code": pipeline.code, "source": source.code, "stages": len(stages)},
        related=[source],
    )
    return pipeline


@transaction.atomic
def stage_deactivate(*, actor: User, stage: Stage) -> Stage:
    """Hide ``stage``: it takes no new deals and leaves the board and the stage pickers;
    its history stays readable. Never deletes.

    Refused with ``Conflict`` (409, code ``stage_in_use``, the message says how many)
    while deals sit in the stage — move them first — and with ``ValidationFailed`` when
    the pipeline would be left without an active open, won or lost stage. Raises
    ``Forbidden`` for non-admins. Audits ``sales.stage.updated`` like ``stage_update``.
    """
    _require_admin(actor)
    current = Stage.objects.select_for_update().get(pk=stage.pk)
    if not current.is_active:
        return stage
    in_stage = Opportunity.objects.filter(stage_id=current.pk).count()
    if in_stage:
        raise Conflict(
            _("%(n)d deals are in this stage; move them to another stage before hiding it.") % {"n": in_stage},
            code="stage_in_use",
            field_errors={"is_active": [_("Deals are in this stage; move them before hiding it.")]},
        )
    return stage_update(actor=actor, stage=stage, is_active=False)


def _team_ids(teams: Iterable[Team | int]) -> list[int]:
    return sorted({t if isinstance(t, int) else t.pk for t in teams})


@transaction.atomic
def pipeline_set_teams(
    *,
    actor: User,
    pipeline: Pipeline,
    teams: Iterable[Team | int],
    default_for: Iterable[Team | int] = (),
) -> Pipeline:
    """Say which teams use ``pipeline`` (none: every team) and for which teams it is the
    pipeline new deals start in (``default_for``; it takes that mark from the team's
    previous default).

    Refused (``ValidationFailed``, nothing written): unknown team ids (``teams`` /
    ``default_for``); teams on the global default pipeline, which stays available to
    everyone (``teams``); a team default that is not among the pipeline's teams when it
    has some, or on a hidden pipeline (``default_for``). Raises ``Forbidden`` for
    non-admins. Audits ``sales.pipeline.teams_changed`` with ``{"code", "teams",
    "default_for", "changes"}`` when something changed.
    """
    _require_admin(actor)
    current = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    team_ids = _team_ids(teams)
    default_ids = _team_ids(default_for)
    known = set(Team.objects.filter(pk__in={*team_ids, *default_ids}).values_list("pk", flat=True))
    errors: dict[str, list[str]] = {}
    if set(team_ids) - known:
        errors["teams"] = [_("Unknown team.")]
    elif team_ids and current.is_default:
        errors["teams"] = [
            _("The default pipeline is available to every team; make another pipeline the default first.")
        ]
    if set(default_ids) - known:
        errors["default_for"] = [_("Unknown team.")]
    elif team_ids and set(default_ids) - set(team_ids):
        errors["default_for"] = [_("A team can only start its deals in a pipeline it uses.")]
    elif default_ids and not current.is_active:
        errors["default_for"] = [_("A hidden pipeline cannot be a team's default.")]
    if errors:
        raise ValidationFailed(_("The pipeline configuration could not be saved."), field_errors=errors)
    before_teams = sorted(TeamPipeline.objects.filter(pipeline=current).values_list("team_id", flat=True))
    before_defaults = sorted(TeamDefaultPipeline.objects.filter(pipeline=current).values_list("team_id", flat=True))
    if before_teams == team_ids and before_defaults == default_ids:
        return pipeline
    TeamPipeline.objects.filter(pipeline=current).exclude(team_id__in=team_ids).delete()
    TeamPipeline.objects.bulk_create(
        [TeamPipeline(team_id=pk, pipeline=current) for pk in team_ids if pk not in before_teams]
    )
    TeamDefaultPipeline.objects.filter(pipeline=current).exclude(team_id__in=default_ids).delete()
    # the mark moves: a team has one default pipeline
    TeamDefaultPipeline.objects.filter(team_id__in=default_ids).exclude(pipeline=current).delete()
    TeamDefaultPipeline.objects.bulk_create(
        [TeamDefaultPipeline(team_id=pk, pipeline=current) for pk in default_ids if pk not in before_defaults]
    )
    record_event(
        actor=actor,
        verb="sales.pipeline.teams_changed",
        target=current,
        data={
            "code": current.code,
            "teams": team_ids,
            "default_for": default_ids,
            "changes": changed_fields(
                {"teams": before_teams, "default_for": before_defaults}, {"teams": team_ids, "default_for": default_ids}
            ),
        },
    )
    return pipeline


# ----------------------------------------------------------- the stall escalation ladder

#: Longest wait a ladder step may name (two years of being stalled).
MAX_STALL_STEP_DAYS = 730


def stall_step_save(
    *,
    actor: User,
    step: StallEscalationStep | None = None,
    after_days_stalled: object,
    notify: object,
    is_active: object = True,
) -> StallEscalationStep:
    """Add (``step=None``) or change one step of the stall escalation ladder.

    Administrators only (``Forbidden``). ``after_days_stalled`` is a whole number of days,
    0–730; ``notify`` one of ``StallRecipient``; two active steps may not name the same day
    and recipient (``ValidationFailed`` naming the field; nothing written). Steps are kept
    in day order (``position`` follows the days). Audited as ``sales.stall_step.saved``;
    the daily job reads the ladder on its next run, and steps already applied to a stall
    episode (``StallNotice``) are not repeated.
    """
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    days: int | None = None
    if isinstance(after_days_stalled, bool):
        errors["after_days_stalled"] = [_("Enter a whole number of days.")]
    else:
        try:
            days = int(str(after_days_stalled).strip())
        except (TypeError, ValueError):
            errors["after_days_stalled"] = [_("Enter a whole number of days.")]
        else:
            if not 0 <= days <= MAX_STALL_STEP_DAYS:
                errors["after_days_stalled"] = [
                    _("Enter a number of days from 0 to %(max)d.") % {"max": MAX_STALL_STEP_DAYS}
                ]
    if notify not in StallRecipient.values:
        errors["notify"] = [_("Choose whom to notify.")]
    if not isinstance(is_active, bool):
        errors["is_active"] = [_("Enter true or false.")]
    if errors:
        raise ValidationFailed(_("The escalation step could not be saved."), field_errors=errors)
    assert days is not None
    with transaction.atomic():
        clash = StallEscalationStep.objects.select_for_update().filter(
            after_days_stalled=days, notify=notify, is_active=True
        )
        if step is not None:
            clash = clash.exclude(pk=step.pk)
        if is_active and clash.exists():
            raise ValidationFailed(
                _("The escalation step could not be saved."),
                field_errors={"after_days_stalled": [_("The ladder already has this step.")]},
            )
        created = step is None
        target = step or StallEscalationStep()
        target.after_days_stalled, target.notify, target.is_active = days, str(notify), bool(is_active)
        target.position = days
        target.save()
        record_event(
            actor=actor,
            verb="sales.stall_step.saved",
            target=target,
            data={"after_days_stalled": days, "notify": str(notify), "is_active": bool(is_active), "created": created},
        )
    return target


def stall_step_delete(*, actor: User, step: StallEscalationStep) -> None:
    """Delete a ladder step (administrators; audited as ``sales.stall_step.deleted``). The
    notices it produced go with it; past notifications stay."""
    _require_admin(actor)
    with transaction.atomic():
        record_event(
            actor=actor,
            verb="sales.stall_step.deleted",
            target=step,
            data={"after_days_stalled": step.after_days_stalled, "notify": step.notify},
        )
        step.delete()
