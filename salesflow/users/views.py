"""Account pages: preferences and API tokens. Login, logout and password change are Django's views."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesflow.core.errors import ServiceError
from salesflow.core.web import apply_service_error
from salesflow.users.forms import ApiTokenForm, PreferencesForm
from salesflow.users.models import ApiToken, User
from salesflow.users.services import api_token_create, api_token_revoke, user_set_time_zone


def preferences(request: HttpRequest) -> HttpResponse:
    """The signed-in user's preferences (time zone)."""
    user = request.user
    assert isinstance(user, User)
    form = PreferencesForm(request.POST or None, initial={"time_zone": user.time_zone})
    if request.method == "POST" and form.is_valid():
        try:
            user_set_time_zone(actor=user, user=user, time_zone=form.cleaned_data["time_zone"])
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Your preferences were saved."))
            return redirect("preferences")
    return render(request, "users/preferences.html", {"form": form})


def api_tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens and create a new one (shown exactly once)."""
    raw_token = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, raw_token = api_token_create(user=request.user, name=form.cleaned_data["name"])  # type: ignore[arg-type]
            form = ApiTokenForm()
        except ServiceError as exc:
            apply_service_error(form, exc)
    tokens = ApiToken.objects.filter(user=request.user).order_by("-created_at")  # type: ignore[misc]
    return render(request, "users/api_tokens.html", {"form": form, "tokens": tokens, "raw_token": raw_token})


@require_POST
def api_token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)  # type: ignore[misc]
    api_token_revoke(actor=request.user, token=token)  # type: ignore[arg-type]
    messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("api_tokens")
