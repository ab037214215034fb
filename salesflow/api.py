"""The JSON API: ``/api/v1/``, bearer-token auth, one error envelope.

Errors always look like ``{"detail": str, "code": str, "errors": {field: [str]}}``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from salesflow.core.errors import ServiceError
from salesflow.users.models import ApiToken, hash_token


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; the token is looked up by its SHA-256 hash."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        try:
            row = ApiToken.objects.select_related("user").get(token_hash=hash_token(token), revoked_at__isnull=True)
        except ApiToken.DoesNotExist:
            return None
        if not row.user.is_active:
            return None
        if row.last_used_at is None or (timezone.now() - row.last_used_at).total_seconds() > 60:
            row.mark_used()
        request.user = row.user
        return row.user


api = NinjaAPI(
    title="Salesflow API",
    version="1",
    urls_namespace="api-v1",
    auth=BearerToken(),
    docs_url="/docs",
    description="Salesflow (销售流程) REST API. Authenticate with `Authorization: Bearer <token>`.",
)


def _envelope(
    request: HttpRequest, detail: str, code: str, status: int, errors: dict[str, list[str]] | None = None
) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code, "errors": errors or {}}, status=status)


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return _envelope(request, str(exc.message), exc.code, exc.status_code, exc.field_errors)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _envelope(request, _("Not found."), "not_found", 404)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _envelope(request, _("Authentication required: send a valid API token."), "unauthorized", 401)


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload", "data")]
        key = ".".join(loc) or "__all__"
        errors.setdefault(key, []).append(str(err.get("msg", "")))
    return _envelope(request, _("The input is not valid."), "validation_error", 400, errors)


@api.exception_handler(DjangoValidationError)
def _django_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    errors = {k: [str(m) for m in v] for k, v in exc.message_dict.items()} if hasattr(exc, "error_dict") else {}
    return _envelope(request, "; ".join(str(m) for m in exc.messages), "validation_error", 400, errors)


def _register_routers() -> None:
    from salesflow.activities.api import router as activities_router
    from salesflow.leads.api import router as leads_router
    from salesflow.notifications.api import router as notifications_router
    from salesflow.parties.api import accounts_router, contacts_router
    from salesflow.sales.api import router as sales_router
    from salesflow.users.api import router as users_router

    api.add_router("/accounts", accounts_router)
    api.add_router("/contacts", contacts_router)
    api.add_router("/leads", leads_router)
    api.add_router("/opportunities", sales_router)
    api.add_router("/activities", activities_router)
    api.add_router("/notifications", notifications_router)
    api.add_router("/", users_router)


_register_routers()
