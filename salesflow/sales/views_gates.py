"""Stage-gate pages: the deal's checklist panel (htmx) and the administrators' page of a
stage's entry criteria (``/settings/pipelines/stages/<id>/criteria/``, URL name
``sales:stage_criteria``; works on its own and as the fragment the pipeline settings page
loads). Thin: parse, call ``gate_services``, render."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesflow.core.errors import ServiceError
from salesflow.core.web import apply_service_error
from salesflow.sales.forms import CriterionForm
from salesflow.sales.gate_services import (
    CriterionChanges,
    opportunity_checklist_tick,
    stage_criterion_create,
    stage_criterion_delete,
    stage_criterion_update,
)
from salesflow.sales.gates import criterion_label, criterion_types, opportunity_checklist
from salesflow.sales.models import Stage, StageCriterion
from salesflow.sales.permissions import can_write_opportunity, get_opportunity_for_user
from salesflow.users.models import User
from salesflow.users.policy import unrestricted

CRITERIA_TARGET = "stage-criteria"


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# --------------------------------------------------------------------- deal checklist


def _checklist_response(request: HttpRequest, pk: int, *, status: int = 200) -> HttpResponse:
    user = _user(request)
    opp = get_opportunity_for_user(user, pk)
    context = {
        "opportunity": opp,
        "checklist": opportunity_checklist(opp),
        "can_write": can_write_opportunity(user, opp),
    }
    return render(request, "sales/partials/checklist.html", context, status=status)


def opportunity_checklist_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The deal page's panel: criteria of the current and the next stage, met or not."""
    return _checklist_response(request, pk)


@require_POST
def opportunity_checklist_tick_view(request: HttpRequest, pk: int, criterion_id: int) -> HttpResponse:
    """Tick (``ticked=1``) or untick (``ticked=0``) a checklist item; htmx gets the panel."""
    user = _user(request)
    opp = get_opportunity_for_user(user, pk, write=True)
    criterion = StageCriterion.objects.select_related("stage").filter(pk=criterion_id).first()
    if criterion is None or criterion.stage.pipeline_id != opp.pipeline_id:
        raise Http404("criterion not found")
    status = 200
    try:
        opportunity_checklist_tick(
            actor=user, opportunity=opp, criterion=criterion, ticked=request.POST.get("ticked", "1") != "0"
        )
    except ServiceError as exc:
        if not _is_htmx(request):
            messages.error(request, str(exc.message))
        status = exc.status_code
    if _is_htmx(request):
        return _checklist_response(request, pk, status=status)
    return redirect(reverse("opportunities:detail", args=[opp.pk]) + "#checklist")


# ---------------------------------------------------------------- criteria settings


def _admin(request: HttpRequest) -> User:
    user = _user(request)
    if not unrestricted(user):
        raise PermissionDenied(_("Only administrators may change entry criteria."))
    return user


def _stage(pk: int) -> Stage:
    stage = Stage.objects.select_related("pipeline").filter(pk=pk).first()
    if stage is None:
        raise Http404("stage not found")
    return stage


def _criteria_context(stage: Stage, *, add_form: CriterionForm | None = None, **extra: Any) -> dict[str, Any]:
    criteria = list(stage.criteria.order_by("position", "id"))
    forms = {c.pk: CriterionForm(instance=c, prefix=f"c{c.pk}") for c in criteria}
    forms.update(extra.pop("edit_forms", {}))
    return {
        "stage": stage,
        "rows": [(c, criterion_label(c), forms[c.pk]) for c in criteria],
        "add_form": add_form or CriterionForm(prefix="new"),
        "types": criterion_types(),
        "target": CRITERIA_TARGET,
        **extra,
    }


def _criteria_response(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    template = "sales/partials/stage_criteria.html" if _is_htmx(request) else "sales/stage_criteria.html"
    return render(request, template, context, status=status)


def stage_criteria_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the stage's criteria with edit and remove forms and an add form (administrators).
    POST: add a criterion. htmx requests get the fragment (``#stage-criteria``)."""
    user = _admin(request)
    stage = _stage(pk)
    if request.method != "POST":
        return _criteria_response(request, _criteria_context(stage))
    form = CriterionForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            stage_criterion_create(actor=user, stage=stage, **form.service_kwargs())
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            if not _is_htmx(request):
                messages.success(request, _("The entry criterion was added."))
                return redirect("sales:stage_criteria", pk=stage.pk)
            return _criteria_response(request, _criteria_context(stage, saved=True))
    return _criteria_response(request, _criteria_context(stage, add_form=form), status=400)


def _criterion(pk: int) -> StageCriterion:
    criterion = StageCriterion.objects.select_related("stage", "stage__pipeline").filter(pk=pk).first()
    if criterion is None:
        raise Http404("criterion not found")
    return criterion


@require_POST
def stage_criterion_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _admin(request)
    criterion = _criterion(pk)
    stage = criterion.stage
    form = CriterionForm(request.POST, instance=criterion, prefix=f"c{criterion.pk}")
    if form.is_valid():
        changes = form.service_kwargs()
        if changes["position"] is None:
            changes.pop("position")
        try:
            stage_criterion_update(actor=user, criterion=criterion, **cast(CriterionChanges, changes))
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            if not _is_htmx(request):
                messages.success(request, _("The entry criterion was saved."))
                return redirect("sales:stage_criteria", pk=stage.pk)
            return _criteria_response(request, _criteria_context(stage, saved=True))
    context = _criteria_context(stage, edit_forms={criterion.pk: form}, open_id=criterion.pk)
    return _criteria_response(request, context, status=400)


@require_POST
def stage_criterion_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _admin(request)
    criterion = _criterion(pk)
    stage = criterion.stage
    stage_criterion_delete(actor=user, criterion=criterion)
    if not _is_htmx(request):
        messages.success(request, _("The entry criterion was removed."))
        return redirect("sales:stage_criteria", pk=stage.pk)
    return _criteria_response(request, _criteria_context(stage))
