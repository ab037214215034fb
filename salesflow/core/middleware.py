"""Project middleware: the API's error envelope for answers Django gives before an endpoint
runs, and the query-string guard that keeps hostile search terms away from the database."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.schemas import INT_MAX, SEARCH_MAX_LENGTH, text_error

API_PREFIX = "/api/v1/"


def error_envelope(
    detail: str,
    code: str,
    status: int,
    errors: dict[str, list[str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """The API's one error shape ``{"detail", "code", "errors"}`` (plus an error's own
    ``extra`` keys, e.g. ``unmet`` of a refused stage move; never replacing those three)."""
    body: dict[str, Any] = {**(extra or {}), "detail": detail, "code": code, "errors": errors or {}}
    return JsonResponse(body, status=status)


def _replacement(request: HttpRequest, response: HttpResponse) -> HttpResponse | None:
    status = response.status_code
    if status == 404:
        return error_envelope(_("Not found."), "not_found", 404)
    if status == 405:
        replaced = error_envelope(
            _("The method %(method)s is not allowed here.") % {"method": request.method}, "method_not_allowed", 405
        )
        if response.has_header("Allow"):
            replaced["Allow"] = response["Allow"]
        return replaced
    if status == 413:
        return error_envelope(_("The request body is too large."), "too_large", 413)
    if status == 400:
        return error_envelope(_("The request is not valid."), "bad_request", 400)
    if status == 403:
        return error_envelope(_("You do not have permission to do this."), "forbidden", 403)
    if status >= 500:
        return error_envelope(_("Server error."), "server_error", status)
    return None


class ApiErrorEnvelopeMiddleware:
    """Answer every error under ``/api/v1/`` in the JSON envelope.

    The endpoints' own errors already are; this catches what Django answers before an
    endpoint runs: an unknown path or a non-integer/negative id (the URL resolver's 404), a
    method the path does not have (405), a refused body (400/413). The Swagger page
    (``/api/v1/docs``) is HTML and left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith(API_PREFIX)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            replaced = _replacement(request, response)
            if replaced is not None:
                return replaced
        return response


SEARCH_PARAMS = ("q",)
_INTEGER = re.compile(r"[+-]?[0-9]+")


def _number_error(value: str) -> str | None:
    """An integer no 64-bit column can hold (a filter id like ``owner=99…9`` would otherwise
    overflow the database driver)."""
    if _INTEGER.fullmatch(value.strip()):
        digits = value.strip().lstrip("+-").lstrip("0")
        if len(digits) > 19 or (digits and int(digits) > INT_MAX):
            return _("This number is out of range.")
    return None


def query_string_errors(request: HttpRequest) -> dict[str, list[str]]:
    """Query parameters no page or endpoint may receive: control characters anywhere, and
    search terms longer than ``SEARCH_MAX_LENGTH`` (a 50,000-character ``LIKE`` pattern or
    a NUL byte would otherwise reach the database)."""
    errors: dict[str, list[str]] = {}
    for key, values in request.GET.lists():
        for value in [key, *values]:
            # search terms are text (a long number is a legitimate search); other values may be ids
            reason = text_error(value, multiline=False) or (None if key in SEARCH_PARAMS else _number_error(value))
            if reason:
                errors.setdefault(key, []).append(reason)
                break
        if key in SEARCH_PARAMS and any(len(v) > SEARCH_MAX_LENGTH for v in values):
            errors.setdefault(key, []).append(
                _("Search terms may have at most %(max)d characters.") % {"max": SEARCH_MAX_LENGTH}
            )
    return errors


class QueryStringGuardMiddleware:
    """Refuse hostile query strings with a 400 before any view runs: the API in its envelope
    (naming the parameter), the web pages with a page saying what to change."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        errors = query_string_errors(request)
        if errors:
            if request.path.startswith(API_PREFIX):
                return error_envelope(_("The input is not valid."), "validation_error", 400, errors)
            message = next(iter(errors.values()))[0]
            return render(request, "400.html", {"message": message}, status=400)
        return self.get_response(request)


class UserTimeZoneMiddleware:
    """Activate the signed-in user's time zone for the request, so "today", due, overdue,
    form input and displayed times follow the user. The API's token authentication
    activates it the same way (it signs the user in later, inside the endpoint)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = getattr(getattr(request, "user", None), "zone", None)
        if zone is not None:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class ContentSecurityPolicyMiddleware:
    """Send ``SALESFLOW_CONTENT_SECURITY_POLICY`` (no ``'unsafe-inline'``: scripts and styles come
    only from our own static files) on every response that has none yet."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = str(getattr(settings, "SALESFLOW_CONTENT_SECURITY_POLICY", ""))
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


class PostOnlyRedirectMiddleware:
    """A page opened with GET at an action URL that only takes POST (a reload after an htmx
    action, a bookmarked or shared ``…/move`` link) redirects to the record instead of showing
    the browser's blank "405" page: to the nearest parent path that answers GET (``/opportunities/7/move``
    → ``/opportunities/7/``), else to the home page. The API keeps its 405 envelope; htmx
    requests keep the 405 (they never navigate)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code != 405
            or request.method not in ("GET", "HEAD")
            or request.path.startswith(API_PREFIX)
            or request.headers.get("HX-Request") == "true"
        ):
            return response
        return HttpResponseRedirect(_get_parent(request.path))


def _get_parent(path: str) -> str:
    """The nearest ancestor of ``path`` that resolves to a view, or ``/``. (Should that view
    take only POST too, the next GET there redirects one level further up.)"""
    from django.urls import Resolver404, resolve

    parts = [p for p in path.split("/") if p]
    while len(parts) > 1:
        parts.pop()
        for candidate in ("/" + "/".join(parts) + "/", "/" + "/".join(parts)):
            try:
                resolve(candidate)
            except Resolver404:
                continue
            return candidate
    return "/"
