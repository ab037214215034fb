"""Writes of the objection library and of the objections logged on deals.

Every function checks the actor itself, validates before writing (``ValidationFailed``
naming the field), owns its transaction and audits. Editors (managers, administrators)
maintain the library; reps suggest answers; logging on a deal is writing the deal."""

from __future__ import annotations

import unicodedata
from typing import Any, TypedDict, Unpack

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from salesflow.core.audit import changed_fields, record_event
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.schemas import text_error
from salesflow.objections.choices import AnswerStatus
from salesflow.objections.models import (
    ANSWER_TEXT_LENGTH,
    NOTE_LENGTH,
    OBJECTION_TEXT_LENGTH,
    PRODUCT_LINE_LENGTH,
    DealObjection,
    Objection,
    ObjectionAnswer,
    ObjectionCategory,
)
from salesflow.objections.permissions import (
    answers_visible_to,
    can_delete_log,
    can_edit_library,
    can_suggest_answer,
)
from salesflow.sales.choices import StageKind
from salesflow.sales.models import Opportunity, Stage
from salesflow.sales.permissions import can_write_opportunity
from salesflow.users.models import User

Errors = dict[str, list[str]]


class ObjectionChanges(TypedDict, total=False):
    """The fields ``objection_update`` may change."""

    category: ObjectionCategory
    stage: Stage | None
    product_line: str
    text_zh: str
    text_en: str
    is_active: bool


class AnswerChanges(TypedDict, total=False):
    """The fields ``answer_update`` may change (``status``: approve a suggestion)."""

    text_zh: str
    text_en: str
    position: int
    is_active: bool
    status: str


class CategoryChanges(TypedDict, total=False):
    """The fields ``category_update`` may change (the code stays)."""

    name_en: str
    name_zh: str
    position: int
    is_active: bool


OBJECTION_FIELDS: frozenset[str] = frozenset(ObjectionChanges.__annotations__)
CATEGORY_FIELDS: frozenset[str] = frozenset(CategoryChanges.__annotations__)
ANSWER_FIELDS: frozenset[str] = frozenset(AnswerChanges.__annotations__)


def _text(value: object, field: str, errors: Errors, *, max_length: int, multiline: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append(_("Enter text."))
        return ""
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > max_length:
        errors.setdefault(field, []).append(_("At most %(n)d characters.") % {"n": max_length})
        return ""
    reason = text_error(text, multiline=multiline)
    if reason:
        errors.setdefault(field, []).append(reason)
        return ""
    return text if multiline else " ".join(text.split())


def _both_languages(values: dict[str, Any], errors: Errors) -> None:
    """At least one language is required (the other falls back to it when shown)."""
    if "text_zh" in errors or "text_en" in errors:
        return
    if not values.get("text_zh") and not values.get("text_en"):
        message = _("Enter the text in Chinese or English (or both).")
        errors.setdefault("text_zh", []).append(message)
        errors.setdefault("text_en", []).append(message)


def _check_category(value: object, errors: Errors) -> None:
    if not isinstance(value, ObjectionCategory) or not value.is_active:
        errors.setdefault("category_id", []).append(_("Select a valid category."))


def _check_stage(value: object, errors: Errors) -> None:
    if value is not None and (not isinstance(value, Stage) or value.kind != StageKind.OPEN):
        errors.setdefault("stage_id", []).append(_("Select an open stage."))


def _require_editor(actor: User) -> None:
    if not can_edit_library(actor):
        raise Forbidden(_("Only managers and administrators edit the objection library."))


@transaction.atomic
def objection_create(
    *,
    actor: User,
    category: ObjectionCategory,
    text_zh: str = "",
    text_en: str = "",
    stage: Stage | None = None,
    product_line: str = "",
) -> Objection:
    """Add an objection to the library (managers and administrators). Audits
    ``objections.objection.created``. Raises ``Forbidden`` / ``ValidationFailed``."""
    _require_editor(actor)
    errors: Errors = {}
    values = {
        "text_zh": _text(text_zh, "text_zh", errors, max_length=OBJECTION_TEXT_LENGTH, multiline=False),
        "text_en": _text(text_en, "text_en", errors, max_length=OBJECTION_TEXT_LENGTH, multiline=False),
        "product_line": _text(product_line, "product_line", errors, max_length=PRODUCT_LINE_LENGTH, multiline=False),
    }
    _both_languages(values, errors)
    _check_category(category, errors)
    _check_stage(stage, errors)
    if errors:
        raise ValidationFailed(_("The objection could not be saved."), field_errors=errors)
    objection = Objection.objects.create(
        category=category, stage=stage, created_by=actor if actor.pk else None, **values
    )
    record_event(
        actor=actor,
        verb="objections.objection.created",
        target=objection,
        data={"category": category.code, "text_en": objection.text_en, "text_zh": objection.text_zh},
    )
    return objection


@transaction.atomic
def objection_update(*, actor: User, objection: Objection, **changes: Unpack[ObjectionChanges]) -> Objection:
    """Change an objection (managers and administrators); ``is_active=False`` retires it
    (logged deals keep it). Audits ``objections.objection.updated`` with ``changes``."""
    refuse_unknown_fields(changes, OBJECTION_FIELDS, _("The objection could not be saved."))
    _require_editor(actor)
    errors: Errors = {}
    values: dict[str, Any] = {}
    for field in ("text_zh", "text_en", "product_line"):
        if field in changes:
            limit = PRODUCT_LINE_LENGTH if field == "product_line" else OBJECTION_TEXT_LENGTH
            values[field] = _text(changes[field], field, errors, max_length=limit, multiline=False)  # type: ignore[literal-required]
    if "text_zh" in values or "text_en" in values:
        _both_languages(
            {"text_zh": values.get("text_zh", objection.text_zh), "text_en": values.get("text_en", objection.text_en)},
            errors,
        )
    if "category" in changes:
        _check_category(changes["category"], errors)
        values["category"] = changes["category"]
    if "stage" in changes:
        _check_stage(changes["stage"], errors)
        values["stage"] = changes["stage"]
    if "is_active" in changes:
        if not isinstance(changes["is_active"], bool):
            errors.setdefault("is_active", []).append(_("Enter true or false."))
        values["is_active"] = changes["is_active"]
    if errors:
        raise ValidationFailed(_("The objection could not be saved."), field_errors=errors)
    before = {k: getattr(objection, k) for k in values}
    diff = changed_fields(before, values)
    if not diff:
        return objection
    for key in diff:
        setattr(objection, key, values[key])
    objection.save(update_fields=[*diff, "updated_at"])
    record_event(actor=actor, verb="objections.objection.updated", target=objection, data={"changes": diff})
    return objection


@transaction.atomic
def answer_create(*, actor: User, objection: Objection, text_zh: str = "", text_en: str = "") -> ObjectionAnswer:
    """Add an answer to ``objection``: approved when an editor adds it, ``suggested`` when a
    rep does (until an editor approves it). Support and inactive users may not. Audits
    ``objections.answer.created`` or ``objections.answer.suggested``."""
    if not can_suggest_answer(actor):
        raise Forbidden(_("You may not add answers to the objection library."))
    editor = can_edit_library(actor)
    if not objection.is_active and not editor:
        raise Conflict(_("This objection is no longer in use."))
    errors: Errors = {}
    values = {
        "text_zh": _text(text_zh, "text_zh", errors, max_length=ANSWER_TEXT_LENGTH, multiline=True),
        "text_en": _text(text_en, "text_en", errors, max_length=ANSWER_TEXT_LENGTH, multiline=True),
    }
    _both_languages(values, errors)
    if errors:
        raise ValidationFailed(_("The answer could not be saved."), field_errors=errors)
    last = ObjectionAnswer.objects.filter(objection=objection).order_by("-position").values_list("position", flat=True)
    status = AnswerStatus.APPROVED if editor else AnswerStatus.SUGGESTED
    answer = ObjectionAnswer.objects.create(
        objection=objection,
        position=(last.first() or 0) + 1,
        status=status,
        author=actor if actor.pk else None,
        **values,
    )
    record_event(
        actor=actor,
        verb="objections.answer.created" if editor else "objections.answer.suggested",
        target=answer,
        data={"objection_id": objection.pk, "status": status},
        related=[objection],
    )
    return answer


@transaction.atomic
def answer_update(*, actor: User, answer: ObjectionAnswer, **changes: Unpack[AnswerChanges]) -> ObjectionAnswer:
    """Edit, reorder, retire or approve an answer (managers and administrators). Audits
    ``objections.answer.updated`` with ``changes``."""
    refuse_unknown_fields(changes, ANSWER_FIELDS, _("The answer could not be saved."))
    _require_editor(actor)
    errors: Errors = {}
    values: dict[str, Any] = {}
    for field in ("text_zh", "text_en"):
        if field in changes:
            values[field] = _text(changes[field], field, errors, max_length=ANSWER_TEXT_LENGTH, multiline=True)  # type: ignore[literal-required]
    if values:
        _both_languages(
            {"text_zh": values.get("text_zh", answer.text_zh), "text_en": values.get("text_en", answer.text_en)},
            errors,
        )
    if "position" in changes:
        position = changes["position"]
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10_000:
            errors.setdefault("position", []).append(_("Enter a whole number from 0 to 10000."))
        values["position"] = position
    if "is_active" in changes:
        if not isinstance(changes["is_active"], bool):
            errors.setdefault("is_active", []).append(_("Enter true or false."))
        values["is_active"] = changes["is_active"]
    if "status" in changes:
        if changes["status"] not in AnswerStatus.values:
            errors.setdefault("status", []).append(_("Select a valid status."))
        values["status"] = changes["status"]
    if errors:
        raise ValidationFailed(_("The answer could not be saved."), field_errors=errors)
    diff = changed_fields({k: getattr(answer, k) for k in values}, values)
    if not diff:
        return answer
    for key in diff:
        setattr(answer, key, values[key])
    answer.save(update_fields=[*diff, "updated_at"])
    record_event(
        actor=actor,
        verb="objections.answer.updated",
        target=answer,
        data={"changes": diff},
        related=[answer.objection],
    )
    return answer


@transaction.atomic
def deal_objection_log(
    *,
    actor: User,
    opportunity: Opportunity,
    objection: Objection | None,
    answer: ObjectionAnswer | None = None,
    custom_answer: str = "",
    note: str = "",
) -> DealObjection:
    """Log on ``opportunity`` the objection the customer raised and the answer used (a
    library answer of that objection the actor may see, an own answer, or neither yet),
    with the deal's current stage. Needs write access to the deal (``Forbidden``). Audits
    ``objections.deal.logged`` on the deal (its timeline)."""
    if not can_write_opportunity(actor, opportunity):
        raise Forbidden(_("You may not change this opportunity."))
    errors: Errors = {}
    if objection is None or not objection.is_active:
        errors.setdefault("objection_id", []).append(_("Select an objection from the library."))
    if answer is not None and (
        objection is None
        or answer.objection_id != objection.pk
        or not answers_visible_to(actor).filter(pk=answer.pk).exists()
    ):
        errors.setdefault("answer_id", []).append(_("Select one of this objection's answers."))
    custom = _text(custom_answer, "custom_answer", errors, max_length=ANSWER_TEXT_LENGTH, multiline=True)
    clean_note = _text(note, "note", errors, max_length=NOTE_LENGTH, multiline=True)
    if errors:
        raise ValidationFailed(_("The objection could not be logged."), field_errors=errors)
    assert objection is not None
    log = DealObjection.objects.create(
        opportunity=opportunity,
        objection=objection,
        answer=answer,
        custom_answer=custom,
        note=clean_note,
        stage_id=opportunity.stage_id,
        logged_by=actor if actor.pk else None,
    )
    record_event(
        actor=actor,
        verb="objections.deal.logged",
        target=opportunity,
        data={
            "objection_id": objection.pk,
            "answer_id": answer.pk if answer else None,
            "objection": objection.text_zh or objection.text_en,
            "stage_id": opportunity.stage_id,
        },
        related=[opportunity.account],
    )
    return log


@transaction.atomic
def deal_objection_delete(*, actor: User, log: DealObjection) -> None:
    """Remove a logged objection: its author or an editor, while they may write the deal
    (``Forbidden`` otherwise). Audits ``objections.deal.log_deleted`` on the deal."""
    opportunity = log.opportunity
    if not can_write_opportunity(actor, opportunity) or not can_delete_log(actor, log):
        raise Forbidden(_("You may remove only the objections you logged."))
    objection = log.objection
    record_event(
        actor=actor,
        verb="objections.deal.log_deleted",
        target=opportunity,
        data={
            "objection_id": objection.pk,
            "answer_id": log.answer_id,
            "objection": objection.text_zh or objection.text_en,
        },
        related=[opportunity.account],
    )
    log.delete()


def _category_values(changes: dict[str, Any], errors: Errors) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in ("name_en", "name_zh"):
        if field in changes:
            values[field] = _text(changes[field], field, errors, max_length=100, multiline=False)
            if not values[field] and field not in errors:
                errors.setdefault(field, []).append(_("This field is required."))
    if "position" in changes:
        position = changes["position"]
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10_000:
            errors.setdefault("position", []).append(_("Enter a whole number from 0 to 10000."))
        values["position"] = position
    if "is_active" in changes:
        if not isinstance(changes["is_active"], bool):
            errors.setdefault("is_active", []).append(_("Enter true or false."))
        values["is_active"] = changes["is_active"]
    return values


@transaction.atomic
def category_create(*, actor: User, code: str, name_en: str, name_zh: str, position: int = 0) -> ObjectionCategory:
    """Add an objection category (managers and administrators; the Django admin calls this).
    ``code`` is a unique slug. Audits ``objections.category.created``."""
    _require_editor(actor)
    errors: Errors = {}
    clean_code = code.strip().lower() if isinstance(code, str) else ""
    if (
        not clean_code
        or len(clean_code) > 50
        or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in clean_code)
    ):
        errors.setdefault("code", []).append(_("Use lower-case letters, digits, - and _ (at most 50)."))
    elif ObjectionCategory.objects.filter(code=clean_code).exists():
        errors.setdefault("code", []).append(_("A category with this code already exists."))
    values = _category_values({"name_en": name_en, "name_zh": name_zh, "position": position}, errors)
    if errors:
        raise ValidationFailed(_("The category could not be saved."), field_errors=errors)
    try:
        with transaction.atomic():
            category = ObjectionCategory.objects.create(code=clean_code, **values)
    except IntegrityError:
        message = _("A category with this code already exists.")
        raise ValidationFailed(message, field_errors={"code": [message]}) from None
    record_event(
        actor=actor,
        verb="objections.category.created",
        target=category,
        data={"code": category.code, "name_en": category.name_en, "name_zh": category.name_zh},
    )
    return category


@transaction.atomic
def category_update(
    *, actor: User, category: ObjectionCategory, **changes: Unpack[CategoryChanges]
) -> ObjectionCategory:
    """Rename, reorder or retire a category (``is_active=False``: no new objections in it).
    Audits ``objections.category.updated`` with ``changes``."""
    refuse_unknown_fields(changes, CATEGORY_FIELDS, _("The category could not be saved."))
    _require_editor(actor)
    errors: Errors = {}
    values = _category_values(dict(changes), errors)
    if errors:
        raise ValidationFailed(_("The category could not be saved."), field_errors=errors)
    diff = changed_fields({k: getattr(category, k) for k in values}, values)
    if not diff:
        return category
    for key in diff:
        setattr(category, key, values[key])
    category.save(update_fields=[*diff, "updated_at"])
    record_event(actor=actor, verb="objections.category.updated", target=category, data={"changes": diff})
    return category
