"""Account pages: preferences and API tokens. Login, logout and password change are Django's views."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesflow.core.errors import ServiceError
from salesflow.core.visibility import readable_rows
from salesflow.core.web import apply_service_error
from salesflow.users.forms import ApiTokenForm, PreferencesForm, ShareForm
from salesflow.users.models import ApiToken, User
from salesflow.users.policy import SHAREABLE, may_manage_shares
from salesflow.users.selectors import shares_of
from salesflow.users.services import api_token_create, api_token_revoke, share_grant, share_revoke, user_set_time_zone


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


def shared_record(user: User, kind: str, pk: int) -> models.Model:
    """The shareable record ``kind``/``pk`` if ``user`` may read it (else ``Http404``)."""
    model = SHAREABLE.get(kind)
    rows = readable_rows(user, model) if model is not None else None
    record = rows.filter(pk=pk).first() if rows is not None else None
    if record is None:
        raise Http404("record not found")
    return cast(models.Model, record)


def _share_card(
    request: HttpRequest, kind: str, target: models.Model, form: ShareForm | None = None, status: int = 200
) -> HttpResponse:
    user = cast(User, request.user)
    context: dict[str, Any] = {
        "kind": kind,
        "target": target,
        "shares": list(shares_of(target)),
        "can_manage": may_manage_shares(user, getattr(target, "owner_id", None)),
        "form": form or ShareForm(auto_id=f"share_{kind}_%s"),
    }
    return render(request, "users/partials/share_card.html", context, status=status)


def share_card_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The "Shared with" card of a record (htmx partial); POST adds a share."""
    user = cast(User, request.user)
    target = shared_record(user, kind, pk)
    if request.method != "POST":
        return _share_card(request, kind, target)
    form = ShareForm(request.POST, auto_id=f"share_{kind}_%s")
    if form.is_valid():
        try:
            share_grant(
                actor=user,
                target=target,
                grantee_user=form.cleaned_data["user"],
                grantee_team=form.cleaned_data["team"],
                access=form.cleaned_data["access"],
            )
            return _share_card(request, kind, target)
        except ServiceError as exc:
            if exc.status_code == 403:
                raise
            apply_service_error(form, exc)
    # htmx swaps only 2xx answers: the card with its errors must replace the old one
    return _share_card(request, kind, target, form, status=200 if getattr(request, "htmx", False) else 400)


@require_POST
def share_revoke_view(request: HttpRequest, kind: str, pk: int, share_id: int) -> HttpResponse:
    """Revoke one share of the record and answer the card again."""
    user = cast(User, request.user)
    target = shared_record(user, kind, pk)
    share = get_object_or_404(shares_of(target), pk=share_id)
    share_revoke(actor=user, share=share)
    return _share_card(request, kind, target)


# ------------------------------------------------------------------ saved views (issue 6)


def _saved_view_list_url(list_key: str, query: str = "") -> str:
    from django.urls import NoReverseMatch, reverse

    from salesflow.core.exports import list_spec

    spec = list_spec(list_key)
    try:
        base = reverse(spec.url_name) if spec is not None else reverse("home")
    except NoReverseMatch:
        base = "/"
    return f"{base}?{query}" if query else base


def _service_message(exc: ServiceError) -> str:
    details = [m for msgs in exc.field_errors.values() for m in msgs]
    return " ".join([str(exc.message), *details])


def saved_view_picker(request: HttpRequest) -> HttpResponse:
    """The picker of a list's saved views and the "save this view" form (an htmx fragment)."""
    from salesflow.core.exports import clean_query, list_spec
    from salesflow.users.forms import SavedViewForm
    from salesflow.users.models import Team
    from salesflow.users.permissions import managed_team_ids
    from salesflow.users.selectors import saved_views_for

    user = cast(User, request.user)
    list_key = request.GET.get("list", "")
    spec = list_spec(list_key)
    if spec is None:
        raise Http404
    try:
        query = clean_query(spec, request.GET.get("query", ""))
    except ServiceError:
        query = ""
    team_ids = managed_team_ids(user)
    teams = Team.objects.filter(pk__in=team_ids).order_by("name")[:100] if team_ids else []
    views = saved_views_for(user, list_key)
    base = _saved_view_list_url(list_key)
    entries = [
        {
            "view": v,
            "url": f"{base}?{v.query}" if v.query else base,
            "mine": v.owner_id == user.pk,
            "current": v.query == query,
        }
        for v in views
    ]
    form = SavedViewForm(initial={"list": list_key, "query": query}, teams=teams, auto_id=f"sv-{list_key}-%s")
    return render(
        request,
        "users/partials/saved_views.html",
        {
            "entries": entries,
            "form": form,
            "list_key": list_key,
            "current": next((e for e in entries if e["current"]), None),
        },
    )


@require_POST
def saved_view_create_view(request: HttpRequest) -> HttpResponse:
    from salesflow.users.forms import SavedViewForm
    from salesflow.users.models import Team
    from salesflow.users.permissions import managed_team_ids
    from salesflow.users.services import saved_view_create

    user = cast(User, request.user)
    team_ids = managed_team_ids(user)
    form = SavedViewForm(request.POST, teams=Team.objects.filter(pk__in=team_ids) if team_ids else [])
    list_key = request.POST.get("list", "")
    query = request.POST.get("query", "")
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for msgs in form.errors.values() for m in msgs))
        return redirect(_saved_view_list_url(list_key, query if len(query) <= 1000 else ""))
    team_id = form.cleaned_data["shared_team"]
    try:
        view = saved_view_create(
            actor=user,
            list_key=form.cleaned_data["list"],
            name=form.cleaned_data["name"],
            query=form.cleaned_data["query"],
            shared_team=Team.objects.filter(pk=team_id).first() if team_id else None,
        )
    except ServiceError as exc:
        messages.error(request, _service_message(exc))
        return redirect(_saved_view_list_url(list_key))
    messages.success(request, _("The view “%(name)s” was saved.") % {"name": view.name})
    return redirect(_saved_view_list_url(view.list_key, view.query))


@require_POST
def saved_view_rename_view(request: HttpRequest, pk: int) -> HttpResponse:
    from salesflow.users.selectors import saved_view_for_user
    from salesflow.users.services import saved_view_update

    user = cast(User, request.user)
    view = saved_view_for_user(user, pk, write=True)
    try:
        saved_view_update(actor=user, view=view, name=request.POST.get("name", "")[:200])
    except ServiceError as exc:
        messages.error(request, _service_message(exc))
    else:
        messages.success(request, _("The view was renamed."))
    return redirect(_saved_view_list_url(view.list_key, view.query))


@require_POST
def saved_view_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    from salesflow.users.selectors import saved_view_for_user
    from salesflow.users.services import saved_view_delete

    user = cast(User, request.user)
    view = saved_view_for_user(user, pk, write=True)
    saved_view_delete(actor=user, view=view)
    messages.success(request, _("The view “%(name)s” was deleted.") % {"name": view.name})
    return redirect(_saved_view_list_url(view.list_key))
