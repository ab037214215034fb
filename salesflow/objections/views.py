"""Pages of the objection library (browse, search, detail, create, edit) and the deal
panel (htmx: search the library at the deal's stage, log an objection and the answer used)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from salesflow.core.errors import ServiceError
from salesflow.core.web import apply_service_error, page_number, paginate
from salesflow.objections.choices import AnswerStatus
from salesflow.objections.forms import (
    AnswerEditForm,
    AnswerForm,
    DealLogForm,
    DealSearchForm,
    LibraryFilterForm,
    ObjectionForm,
)
from salesflow.objections.models import Objection, ObjectionAnswer
from salesflow.objections.permissions import (
    answers_visible_to,
    can_delete_log,
    can_edit_library,
    can_suggest_answer,
    objections_visible_to,
)
from salesflow.objections.selectors import (
    LIBRARY_PAGE,
    MIN_SAMPLE,
    PANEL_RESULTS,
    deal_log_for_user,
    deal_logs,
    library_search,
    objection_detail,
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
from salesflow.sales.models import Opportunity
from salesflow.sales.permissions import can_write_opportunity, get_opportunity_for_user
from salesflow.users.models import User


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _require_editor(user: User) -> None:
    if not can_edit_library(user):
        raise PermissionDenied(_("Only managers and administrators edit the objection library."))


def library_view(request: HttpRequest) -> HttpResponse:
    """Browse and search the library: text, category, stage; answers with their win rates."""
    user = _user(request)
    form = LibraryFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    status = 200
    if form.is_bound:
        if form.is_valid():
            data = form.cleaned_data
            filters = {
                "q": data["q"],
                "category_id": data["category"].pk if data["category"] else None,
                "stage_id": data["stage"].pk if data["stage"] else None,
            }
        else:
            status = 400
    editor = can_edit_library(user)
    page = paginate(library_search(user, include_inactive=editor, **filters), page_number(request), LIBRARY_PAGE)
    objections = with_win_rates(page.object_list)
    context = {
        "form": form,
        "page": page,
        "objections": objections,
        "can_edit": editor,
        "min_sample": MIN_SAMPLE,
        "query": request.GET.urlencode(),
        "section": "objections",
    }
    return render(request, "objections/library.html", context, status=status)


def _objection_or_404(user: User, pk: int) -> Objection:
    objection = objection_detail(user, pk)
    if objection is None:
        raise Http404
    return objection


def _detail(request: HttpRequest, objection: Objection, **forms: Any) -> HttpResponse:
    user = _user(request)
    editor = can_edit_library(user)
    [objection] = with_win_rates([objection])
    answers = objection.visible_answers  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "objection": objection,
        "can_edit": editor,
        "can_suggest": can_suggest_answer(user),
        "min_sample": MIN_SAMPLE,
        "answer_form": forms.get("answer_form") or AnswerForm(prefix="new"),
        "rows": [
            (
                a,
                AnswerEditForm(
                    initial={
                        "text_zh": a.text_zh,
                        "text_en": a.text_en,
                        "position": a.position,
                        "is_active": a.is_active,
                    },
                    prefix=f"a{a.pk}",
                )
                if editor
                else None,
            )
            for a in answers
        ],
        "section": "objections",
    }
    return render(request, "objections/detail.html", context, status=forms.get("status", 200))


def objection_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _objection_or_404(_user(request), pk))


@require_http_methods(["GET", "POST"])
def objection_create_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require_editor(user)
    form = ObjectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            objection = objection_create(
                actor=user,
                category=data["category"],
                stage=data["stage"],
                product_line=data["product_line"],
                text_zh=data["text_zh"],
                text_en=data["text_en"],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The objection was added to the library."))
            return redirect("objections:detail", objection.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "objections/form.html", {"form": form, "section": "objections"}, status=status)


@require_http_methods(["GET", "POST"])
def objection_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    _require_editor(user)
    objection = _objection_or_404(user, pk)
    initial = {
        "category": objection.category,
        "stage": objection.stage,
        "product_line": objection.product_line,
        "text_zh": objection.text_zh,
        "text_en": objection.text_en,
        "is_active": objection.is_active,
    }
    form = ObjectionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            objection_update(actor=user, objection=objection, **cast(ObjectionChanges, form.cleaned_data))
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The objection was saved."))
            return redirect("objections:detail", objection.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "objection": objection, "section": "objections"}
    return render(request, "objections/form.html", context, status=status)


@require_POST
def answer_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Editors add an approved answer; reps suggest one (approved later by an editor)."""
    user = _user(request)
    objection = _objection_or_404(user, pk)
    if not can_suggest_answer(user):
        raise PermissionDenied(_("You may not add answers to the objection library."))
    form = AnswerForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            answer = answer_create(actor=user, objection=objection, **form.cleaned_data)
        except ServiceError as exc:
            if exc.status_code != 400:
                raise
            apply_service_error(form, exc)
        else:
            if answer.status == AnswerStatus.SUGGESTED:
                messages.success(request, _("Thank you: your answer waits for a manager's approval."))
            else:
                messages.success(request, _("The answer was added."))
            return redirect("objections:detail", objection.pk)
    return _detail(request, objection, answer_form=form, status=400)


def _answer_or_404(user: User, pk: int) -> ObjectionAnswer:
    answer = answers_visible_to(user).select_related("objection").filter(pk=pk).first()
    if answer is None or not objections_visible_to(user).filter(pk=answer.objection_id).exists():
        raise Http404
    return answer


@require_POST
def answer_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    _require_editor(user)
    answer = _answer_or_404(user, pk)
    form = AnswerEditForm(request.POST, prefix=f"a{answer.pk}")
    if form.is_valid():
        try:
            answer_update(actor=user, answer=answer, **cast(AnswerChanges, form.cleaned_data))
        except ServiceError as exc:
            messages.error(request, " ".join([str(exc.message), *(m for ms in exc.field_errors.values() for m in ms)]))
        else:
            messages.success(request, _("The answer was saved."))
    else:
        messages.error(request, _("The answer could not be saved."))
    return redirect("objections:detail", answer.objection_id)


@require_POST
def answer_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    _require_editor(user)
    answer = _answer_or_404(user, pk)
    answer_update(actor=user, answer=answer, status=AnswerStatus.APPROVED)
    messages.success(request, _("The answer was approved."))
    return redirect("objections:detail", answer.objection_id)


# ------------------------------------------------------------------ the deal panel


def _panel(
    request: HttpRequest,
    opportunity: Opportunity,
    *,
    search: DealSearchForm | None = None,
    log_form: DealLogForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    can_write = can_write_opportunity(user, opportunity)
    logs = deal_logs(opportunity)
    results: list[Objection] = []
    widened = False
    q = ""
    all_stages = False
    if search is None:
        search = DealSearchForm(request.GET or None)
    if search.is_bound and search.is_valid():
        q = search.cleaned_data["q"]
        all_stages = search.cleaned_data["all_stages"]
    if can_write:
        stage_id = None if all_stages or not opportunity.stage.is_open else opportunity.stage_id
        found = list(library_search(user, q=q, stage_id=stage_id, with_unstaged=True)[:PANEL_RESULTS])
        if not found and stage_id is not None:
            found = list(library_search(user, q=q)[:PANEL_RESULTS])
            widened = True
        results = with_win_rates(found)
    context = {
        "opportunity": opportunity,
        "logs": logs,
        "can_write": can_write,
        "deletable": {log.pk for log in logs if can_write and can_delete_log(user, log)},
        "results": results,
        "widened": widened,
        "q": q,
        "all_stages": all_stages,
        "stage_filtered": can_write and not all_stages and opportunity.stage.is_open,
        "log_form": log_form,
        "min_sample": MIN_SAMPLE,
    }
    return render(request, "objections/partials/deal_panel.html", context, status=status)


@require_http_methods(["GET", "POST"])
def deal_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The objection panel of a deal page: its logged objections (answers with win rates)
    and, for whoever may write the deal, the library pre-filtered to the deal's stage."""
    user = _user(request)
    opportunity = get_opportunity_for_user(user, pk, write=request.method == "POST")
    if request.method != "POST":
        return _panel(request, opportunity)
    form = DealLogForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        objection = objections_visible_to(user).filter(pk=data["objection_id"]).first()
        answer = None
        if data["answer_id"] is not None:
            answer = ObjectionAnswer.objects.filter(pk=data["answer_id"]).first()
            if answer is None:
                form.add_error("answer_id", _("Select one of this objection's answers."))
        if form.is_valid():
            try:
                deal_objection_log(
                    actor=user,
                    opportunity=opportunity,
                    objection=objection,
                    answer=answer,
                    custom_answer=data["custom_answer"],
                    note=data["note"],
                )
            except ServiceError as exc:
                if exc.status_code != 400:
                    raise
                apply_service_error(form, exc)
            else:
                return _panel(request, opportunity, search=DealSearchForm())
    # htmx swaps only 2xx answers: the form with its errors comes back as 200 there
    status = 200 if request.headers.get("HX-Request") == "true" else 400
    return _panel(request, opportunity, search=DealSearchForm(), log_form=form, status=status)


@require_POST
def deal_log_delete_view(request: HttpRequest, pk: int, log_pk: int) -> HttpResponse:
    user = _user(request)
    opportunity = get_opportunity_for_user(user, pk, write=True)
    log = deal_log_for_user(opportunity, log_pk)
    if log is None:
        raise Http404
    deal_objection_delete(actor=user, log=log)
    return _panel(request, opportunity, search=DealSearchForm())
