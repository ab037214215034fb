"""Settings → Pipelines → Stall escalation (``/settings/pipelines/stall-ladder/``, URL name
``sales:stall_ladder``): administrators add, change and delete the steps of the stall
escalation ladder. Thin: parse, call ``config_services``, render."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from salesflow.core.errors import ServiceError
from salesflow.core.escalation import digest_threshold
from salesflow.core.web import apply_service_error
from salesflow.sales.choices import StallRecipient
from salesflow.sales.config_services import MAX_STALL_STEP_DAYS, stall_step_delete, stall_step_save
from salesflow.sales.models import StallEscalationStep
from salesflow.users.models import User


class StallStepForm(forms.Form):
    """One ladder step; the service checks the values again."""

    after_days_stalled = forms.IntegerField(
        label=gettext_lazy("After days stalled"), min_value=0, max_value=MAX_STALL_STEP_DAYS
    )
    notify = forms.ChoiceField(label=gettext_lazy("Notify"), choices=StallRecipient.choices)
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["after_days_stalled"].widget.attrs.update({"class": "form-control", "data-testid": "step-days"})
        self.fields["notify"].widget.attrs.update({"class": "form-select", "data-testid": "step-notify"})
        self.fields["is_active"].widget.attrs.update({"class": "form-check-input"})


def _admin(request: HttpRequest) -> User:
    user = cast(User, request.user)
    if not user.is_admin:
        raise PermissionDenied(_("Only administrators configure the sales pipelines."))
    return user


def _step(pk: int) -> StallEscalationStep:
    step = StallEscalationStep.objects.filter(pk=pk).first() if pk < 2**31 else None
    if step is None:
        raise Http404("no such step")
    return step


def _save(user: User, form: StallStepForm, step: StallEscalationStep | None) -> bool:
    if not form.is_valid():
        return False
    try:
        stall_step_save(
            actor=user,
            step=step,
            after_days_stalled=form.cleaned_data["after_days_stalled"],
            notify=form.cleaned_data["notify"],
            is_active=bool(form.cleaned_data["is_active"]),
        )
    except ServiceError as exc:
        apply_service_error(form, exc)
        return False
    return True


@require_http_methods(["GET", "POST"])
def stall_ladder_view(request: HttpRequest) -> HttpResponse:
    """The ladder in day order, each step editable in place, and a form to add one."""
    user = _admin(request)
    form = StallStepForm(request.POST or None, prefix="new", initial={"is_active": True})
    if request.method == "POST" and _save(user, form, None):
        messages.success(request, _("The escalation step was added."))
        return redirect("sales:stall_ladder")
    steps = list(StallEscalationStep.objects.order_by("after_days_stalled", "id"))
    rows = [(s, StallStepForm(prefix=f"s{s.pk}", initial=_initial(s))) for s in steps]
    status = 400 if request.method == "POST" else 200
    context = {"rows": rows, "form": form, "digest_over": digest_threshold()}
    return render(request, "sales/settings/stall_ladder.html", context, status=status)


def _initial(step: StallEscalationStep) -> dict[str, object]:
    return {"after_days_stalled": step.after_days_stalled, "notify": step.notify, "is_active": step.is_active}


@require_POST
def stall_step_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _admin(request)
    step = _step(pk)
    form = StallStepForm(request.POST, prefix=f"s{step.pk}")
    if _save(user, form, step):
        messages.success(request, _("The escalation step was saved."))
    else:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, _("The escalation step could not be saved: %(errors)s") % {"errors": errors})
    return redirect("sales:stall_ladder")


@require_POST
def stall_step_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _admin(request)
    stall_step_delete(actor=user, step=_step(pk))
    messages.success(request, _("The escalation step was deleted."))
    return redirect("sales:stall_ladder")
