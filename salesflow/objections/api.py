"""JSON API of the objection library (``/api/v1/objections``) and of the objections logged
on a deal (``/api/v1/opportunities/{id}/objections``), through the same services as the pages."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Model
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.core.errors import ValidationFailed
from salesflow.objections.models import DealObjection, Objection, ObjectionAnswer, ObjectionCategory
from salesflow.objections.permissions import answers_visible_to, can_edit_library, objections_visible_to
from salesflow.objections.schemas import (
    AnswerIn,
    AnswerOut,
    AnswerPatch,
    DealObjectionIn,
    DealObjectionOut,
    ObjectionCategoryOut,
    ObjectionFilters,
    ObjectionIn,
    ObjectionOut,
    ObjectionPage,
    ObjectionPatch,
)
from salesflow.objections.selectors import (
    WinRate,
    categories,
    deal_log_for_user,
    deal_logs,
    library_search,
    objection_detail,
    win_rates,
    with_win_rates,
)
from salesflow.objections.services import (
    AnswerChanges,
    ObjectionChanges,
    answer_create,
    answer_update,
    deal_objection_delete,
    deal_objection_log,
    objection_create,
    objection_update,
)
from salesflow.sales.choices import StageKind
from salesflow.sales.models import Stage
from salesflow.sales.permissions import get_opportunity_for_user
from salesflow.users.models import User

router = Router(tags=["objections"])
deal_router = Router(tags=["objections"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _win(win: WinRate) -> dict[str, Any]:
    return {"won": win.won, "lost": win.lost, "deals": win.deals, "percent": win.percent, "enough": win.enough}


def _answer_out(answer: ObjectionAnswer) -> dict[str, Any]:
    return {
        "id": answer.pk,
        "objection_id": answer.objection_id,
        "text_zh": answer.text_zh,
        "text_en": answer.text_en,
        "position": answer.position,
        "is_active": answer.is_active,
        "status": answer.status,
        "author_id": answer.author_id,
        "win_rate": _win(getattr(answer, "win", WinRate())),
    }


def _objection_out(objection: Objection) -> dict[str, Any]:
    return {
        "id": objection.pk,
        "category": objection.category,
        "stage_id": objection.stage_id,
        "product_line": objection.product_line,
        "text_zh": objection.text_zh,
        "text_en": objection.text_en,
        "is_active": objection.is_active,
        "answers": [_answer_out(a) for a in getattr(objection, "visible_answers", [])],
    }


def _lookup(model: type[Model], pk: int | None, field: str, message: str, **conditions: Any) -> Any:
    row = model._default_manager.filter(pk=pk, **conditions).first() if pk is not None else None
    if row is None:
        raise ValidationFailed(message, field_errors={field: [message]})
    return row


def _category(pk: int | None) -> ObjectionCategory:
    return cast(
        ObjectionCategory, _lookup(ObjectionCategory, pk, "category_id", _("Select a valid category."), is_active=True)
    )


def _stage(pk: int | None) -> Stage | None:
    if pk is None:
        return None
    return cast(Stage, _lookup(Stage, pk, "stage_id", _("Select an open stage."), kind=StageKind.OPEN))


def _detail(user: User, pk: int) -> Objection:
    objection = objection_detail(user, pk)
    if objection is None:
        raise Http404
    return with_win_rates([objection])[0]


@router.get("", response=ObjectionPage, summary="Search the objection library")
@router.get("/", response=ObjectionPage, include_in_schema=False)
def list_objections(request: HttpRequest, filters: Query[ObjectionFilters]) -> dict[str, Any]:
    """Active objections (editors: all) matching ``q`` (objection text or product line), the
    category and the stage (with those of any stage); answers with their win rates."""
    user = _user(request)
    qs = library_search(
        user,
        q=filters.q,
        category_id=filters.category_id,
        stage_id=filters.stage_id,
        with_unstaged=True,
        include_inactive=can_edit_library(user),
    )
    items = with_win_rates(list(qs[filters.offset : filters.offset + filters.limit]))
    return {"count": qs.count(), "items": [_objection_out(o) for o in items]}


@router.get("/categories", response=list[ObjectionCategoryOut], summary="Objection categories")
def list_categories(request: HttpRequest) -> Any:
    return list(categories())


@router.post("", response={201: ObjectionOut}, summary="Add an objection (managers and administrators)")
@router.post("/", response={201: ObjectionOut}, include_in_schema=False)
def create_objection(request: HttpRequest, payload: ObjectionIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    objection = objection_create(
        actor=user,
        category=_category(payload.category_id),
        stage=_stage(payload.stage_id),
        product_line=payload.product_line,
        text_zh=payload.text_zh,
        text_en=payload.text_en,
    )
    return 201, _objection_out(_detail(user, objection.pk))


@router.get("/{int:objection_id}", response=ObjectionOut, summary="One objection with its answers and their win rates")
def get_objection(request: HttpRequest, objection_id: int) -> dict[str, Any]:
    return _objection_out(_detail(_user(request), objection_id))


@router.patch("/{int:objection_id}", response=ObjectionOut, summary="Change an objection (managers and administrators)")
def update_objection(request: HttpRequest, objection_id: int, payload: ObjectionPatch) -> dict[str, Any]:
    user = _user(request)
    objection = _detail(user, objection_id)
    data = payload.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    for key in ("product_line", "text_zh", "text_en", "is_active", "category_id"):
        if key in data and data[key] is None:
            raise ValidationFailed(
                _("The objection could not be saved."), field_errors={key: [_("This field may not be null.")]}
            )
    for key in ("product_line", "text_zh", "text_en", "is_active"):
        if key in data:
            changes[key] = data[key]
    if "category_id" in data:
        changes["category"] = _category(data["category_id"])
    if "stage_id" in data:
        changes["stage"] = _stage(data["stage_id"])
    objection_update(actor=user, objection=objection, **cast(ObjectionChanges, changes))
    return _objection_out(_detail(user, objection_id))


@router.post(
    "/{int:objection_id}/answers",
    response={201: AnswerOut},
    summary="Add an answer (managers and administrators) or suggest one (reps)",
)
def create_answer(request: HttpRequest, objection_id: int, payload: AnswerIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    objection = _detail(user, objection_id)
    answer = answer_create(actor=user, objection=objection, text_zh=payload.text_zh, text_en=payload.text_en)
    return 201, _answer_out(answer)


@router.patch("/answers/{int:answer_id}", response=AnswerOut, summary="Edit, retire or approve an answer (editors)")
def update_answer(request: HttpRequest, answer_id: int, payload: AnswerPatch) -> dict[str, Any]:
    user = _user(request)
    answer = answers_visible_to(user).filter(pk=answer_id).first()
    if answer is None or not objections_visible_to(user).filter(pk=answer.objection_id).exists():
        raise Http404
    data = payload.model_dump(exclude_unset=True)
    for key, value in data.items():
        if value is None:
            raise ValidationFailed(
                _("The answer could not be saved."), field_errors={key: [_("This field may not be null.")]}
            )
    answer = answer_update(actor=user, answer=answer, **cast(AnswerChanges, data))
    answer.win = win_rates([answer.pk]).get(answer.pk, WinRate())  # type: ignore[attr-defined]
    return _answer_out(answer)


# ------------------------------------------------------------ /opportunities/{id}/objections


def _log_out(log: DealObjection) -> dict[str, Any]:
    win = getattr(log.answer, "win", None) if log.answer is not None else None
    return {
        "id": log.pk,
        "opportunity_id": log.opportunity_id,
        "objection_id": log.objection_id,
        "objection_text_zh": log.objection.text_zh,
        "objection_text_en": log.objection.text_en,
        "answer_id": log.answer_id,
        "answer_win_rate": _win(win) if win is not None else None,
        "custom_answer": log.custom_answer,
        "note": log.note,
        "stage_id": log.stage_id,
        "logged_by_id": log.logged_by_id,
        "logged_at": log.logged_at,
    }


@deal_router.get(
    "/{int:opportunity_id}/objections",
    response=list[DealObjectionOut],
    summary="Objections logged on a deal, with the answers' win rates",
)
def list_deal_objections(request: HttpRequest, opportunity_id: int) -> list[dict[str, Any]]:
    opportunity = get_opportunity_for_user(_user(request), opportunity_id)
    return [_log_out(log) for log in deal_logs(opportunity)]


@deal_router.post(
    "/{int:opportunity_id}/objections",
    response={201: DealObjectionOut},
    summary="Log an objection raised on a deal and the answer used",
)
def log_deal_objection(
    request: HttpRequest, opportunity_id: int, payload: DealObjectionIn
) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    opportunity = get_opportunity_for_user(user, opportunity_id, write=True)
    objection = objections_visible_to(user).filter(pk=payload.objection_id).first()
    answer = None
    if payload.answer_id is not None:
        answer = ObjectionAnswer.objects.filter(pk=payload.answer_id).first()
        if answer is None:
            message = _("Select one of this objection's answers.")
            raise ValidationFailed(message, field_errors={"answer_id": [message]})
    log = deal_objection_log(
        actor=user,
        opportunity=opportunity,
        objection=objection,
        answer=answer,
        custom_answer=payload.custom_answer,
        note=payload.note,
    )
    logged = next(row for row in deal_logs(opportunity) if row.pk == log.pk)
    return 201, _log_out(logged)


@deal_router.delete(
    "/{int:opportunity_id}/objections/{int:log_id}",
    response={204: None},
    summary="Remove a logged objection (its author, or a manager)",
)
def delete_deal_objection(request: HttpRequest, opportunity_id: int, log_id: int) -> tuple[int, None]:
    user = _user(request)
    opportunity = get_opportunity_for_user(user, opportunity_id, write=True)
    log = deal_log_for_user(opportunity, log_id)
    if log is None:
        raise Http404
    deal_objection_delete(actor=user, log=log)
    return 204, None
