"""The notification centre: the bell's badge, the list, mark read, preferences."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from salesflow.notifications.forms import PreferencesForm
from salesflow.notifications.kinds import Channel
from salesflow.notifications.selectors import (
    get_notification_for_user,
    notifications_for,
    preferences_for,
    unread_count,
)
from salesflow.notifications.services import (
    notification_mark_all_read,
    notification_mark_read,
    notification_preferences_set,
)
from salesflow.users.models import User


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@require_GET
def badge_view(request: HttpRequest) -> HttpResponse:
    """The bell's unread count, loaded by htmx after the page (no query on every page render)."""
    return render(request, "notifications/partials/badge.html", {"unread": unread_count(_user(request))})


def _list_context(request: HttpRequest, user: User) -> dict[str, object]:
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(notifications_for(user, unread=unread_only), 30).get_page(request.GET.get("page"))
    return {"page": page, "unread_only": unread_only, "unread": unread_count(user)}


@require_GET
def notification_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "notifications/list.html", _list_context(request, _user(request)))


@require_POST
def notification_read_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    notification = get_notification_for_user(user, pk)
    notification_mark_read(actor=user, notification=notification)
    if request.htmx:  # type: ignore[attr-defined]
        response = render(request, "notifications/partials/item.html", {"n": notification})
        response["HX-Trigger"] = "notifications-changed"
        return response
    return redirect(notification.url or "notifications:list")


@require_POST
def notification_read_all_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    count = notification_mark_all_read(actor=user)
    if request.htmx:  # type: ignore[attr-defined]
        response = render(request, "notifications/partials/list_card.html", _list_context(request, user))
        response["HX-Trigger"] = "notifications-changed"
        return response
    messages.success(request, _("%(count)d notifications marked as read.") % {"count": count})
    return redirect("notifications:list")


def preferences_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = PreferencesForm(request.POST or None, initial_prefs=preferences_for(user))
    if request.method == "POST" and form.is_valid():
        notification_preferences_set(actor=user, user=user, changes=form.changes())
        messages.success(request, _("Your notification settings were saved."))
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form, "channels": Channel.choices})
