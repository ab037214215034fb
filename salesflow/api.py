"""The JSON API: ``/api/v1/``, bearer-token auth, one error envelope.

Errors always look like ``{"detail": str, "code": str, "errors": {field: [str]}}``: the
handlers below cover what the endpoints raise (service errors, validation, malformed or
non-JSON bodies, oversized bodies) and ``salesflow.core.middleware.ApiErrorEnvelopeMiddleware``
covers what Django answers before an endpoint runs (unknown paths, non-integer ids, 405).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer

from salesflow.core.errors import ServiceError
from salesflow.core.middleware import error_envelope
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
        # UserTimeZoneMiddleware saw an anonymous request and deactivates at the end.
        timezone.activate(row.user.zone)
        return row.user


class UnsupportedMediaType(Exception):
    """The request body is not ``application/json``."""


class MalformedJson(Exception):
    """The request body is not a JSON object (or uses NaN/Infinity, which JSON lacks)."""


def _no_constants(name: str) -> Any:
    raise MalformedJson(name)


class StrictJsonParser(Parser):
    """Accepts only ``application/json`` bodies holding standard JSON."""

    def parse_body(self, request: HttpRequest) -> Any:
        if request.content_type != "application/json":
            raise UnsupportedMediaType(request.content_type)
        try:
            data = json.loads(request.body, parse_constant=_no_constants)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and the int digit limit
            raise MalformedJson(str(exc)) from exc
        if not isinstance(data, dict):  # every body is an object; `null` is not "no body"
            raise MalformedJson("not an object")
        return data


ERROR_ENVELOPE_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "description": "The one error envelope of the API.",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in the request's language"},
        "code": {"type": "string", "description": "Stable machine-readable code, e.g. `validation_error`"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Messages per input field (body field or query parameter)",
        },
    },
    "required": ["detail", "code", "errors"],
}
_ERROR_STATUSES = {
    "400": "Invalid input (field errors), malformed JSON or a refused business rule",
    "401": "Missing, unknown or revoked token",
    "403": "You may see the record but not do this",
    "404": "Unknown path or a record you cannot see",
    "405": "Method not allowed on this path",
    "409": "The record changed state meanwhile",
    "413": "Body too large",
    "415": "Body is not application/json",
}


class SalesflowAPI(NinjaAPI):
    """``NinjaAPI`` whose OpenAPI document lists the error envelope on every operation."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_ENVELOPE_SCHEMA
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for methods in schema.get("paths", {}).values():
            for method, operation in methods.items():
                statuses = dict(_ERROR_STATUSES)
                if method not in ("post", "put", "patch"):
                    statuses.pop("413")
                    statuses.pop("415")
                for status, text in statuses.items():
                    operation["responses"].setdefault(status, {"description": text, **error})
        return schema


api = SalesflowAPI(
    title="Salesflow API",
    version="1",
    urls_namespace="api-v1",
    auth=BearerToken(),
    docs_url="/docs",
    description=(
        "Salesflow (销售流程) REST API. Authenticate with `Authorization: Bearer <token>`. "
        "Bodies are `application/json` (415 otherwise); unknown or read-only fields, control "
        "characters and datetimes without a time zone offset are 400 errors naming the field. "
        'Every error is `{"detail": str, "code": str, "errors": {field: [str]}}`.'
    ),
    parser=StrictJsonParser(),
)


def _envelope(
    request: HttpRequest, detail: str, code: str, status: int, errors: dict[str, list[str]] | None = None
) -> HttpResponse:
    return error_envelope(detail, code, status, errors)


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    if exc.data:  # extra machine-readable keys (a refused stage move's ``unmet`` list)
        return error_envelope(str(exc.message), exc.code, exc.status_code, exc.field_errors, exc.data)
    return _envelope(request, str(exc.message), exc.code, exc.status_code, exc.field_errors)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _envelope(request, _("Not found."), "not_found", 404)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _envelope(request, _("Authentication required: send a valid API token."), "unauthorized", 401)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, UnsupportedMediaType):
        return _envelope(request, _("Send the body as application/json."), "unsupported_media_type", 415)
    if isinstance(cause, MalformedJson):
        return _envelope(request, _("The body is not a valid JSON object."), "malformed_json", 400)
    if isinstance(cause, RequestDataTooBig):
        return _too_big(request, cause)
    return _envelope(request, str(exc), "error", exc.status_code)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _envelope(request, _("The request body is too large."), "too_large", 413)


def _message(err: dict[str, Any]) -> str:
    """Pydantic's message, in the request's language for the common cases."""
    kind = err.get("type")
    if kind == "extra_forbidden":
        return _("Unknown or read-only field.")
    if kind == "missing":
        return _("This field is required.")
    if kind == "value_error":  # our own validators raise translated messages
        return str(err.get("ctx", {}).get("error", err.get("msg", "")))
    return str(err.get("msg", ""))


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", [])]
        # ninja prefixes the source (body/query/path) and, for a single body schema, its
        # parameter name; clients only know the field names.
        if loc and loc[0] in ("body", "query", "path", "header", "cookie", "form", "file"):
            loc = loc[1:]
            if loc and loc[0] in ("payload", "filters", "data"):
                loc = loc[1:]
        key = ".".join(loc) or "__all__"
        errors.setdefault(key, []).append(_message(err))
    return _envelope(request, _("The input is not valid."), "validation_error", 400, errors)


@api.exception_handler(DjangoValidationError)
def _django_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    errors = {k: [str(m) for m in v] for k, v in exc.message_dict.items()} if hasattr(exc, "error_dict") else {}
    return _envelope(request, "; ".join(str(m) for m in exc.messages), "validation_error", 400, errors)


def _register_routers() -> None:
    from salesflow.activities.api import router as activities_router
    from salesflow.attachments.api import router as attachments_router
    from salesflow.core.api import router as exports_router
    from salesflow.imports.api import router as imports_router  # issue 8
    from salesflow.leads.api import router as leads_router
    from salesflow.merging.api import access_router, merges_router  # issue 8
    from salesflow.notifications.api import router as notifications_router
    from salesflow.objections.api import deal_router as deal_objections_router
    from salesflow.objections.api import router as objections_router
    from salesflow.parties.api import accounts_router, contacts_router
    from salesflow.pools.api import router as pools_router
    from salesflow.protection.api import collisions_router, known_customers_router  # issue 8
    from salesflow.sales.api import router as sales_router
    from salesflow.scoring.api import router as scoring_router
    from salesflow.search.api import router as search_router
    from salesflow.tags.api import router as tags_router
    from salesflow.users.api import router as users_router
    from salesflow.workreports.api import router as workreports_router

    api.add_router("/accounts", accounts_router)
    api.add_router("/contacts", contacts_router)
    api.add_router("/leads", leads_router)
    api.add_router("/opportunities", sales_router)
    api.add_router("/activities", activities_router)
    api.add_router("/notifications", notifications_router)
    api.add_router("/attachments", attachments_router)
    api.add_router("/search", search_router)
    api.add_router("/tags", tags_router)
    api.add_router("/", users_router)
    api.add_router("/exports", exports_router)  # issue 6
    api.add_router("/work-reports", workreports_router)  # issue 7: daily and weekly reports
    api.add_router("/objections", objections_router)  # issue 7: the objection library
    api.add_router("/imports", imports_router)  # issue 8: CSV/XLSX imports
    api.add_router("/opportunities", deal_objections_router)  # issue 7: /opportunities/{id}/objections
    from salesflow.dedupe.api import router as dedupe_router  # issue 8 (match): duplicate check

    api.add_router("/duplicates", dedupe_router)  # issue 8 (match): duplicate check and report
    api.add_router("/access-requests", access_router)  # issue 8: access requests to possible duplicates
    api.add_router("/merges", merges_router)  # issue 8: merge duplicates and undo
    # issue 8 (routing): web-to-lead forms, assignment rules, SLAs, /leads/{id}/assignments
    from salesflow.routing import api as routing_api

    api.add_router("/lead-forms", routing_api.forms_router)
    api.add_router("/assignment-rules", routing_api.rules_router)
    api.add_router("/first-response-slas", routing_api.slas_router)
    api.add_router("/leads", routing_api.lead_router)
    api.add_router("/known-customers", known_customers_router)  # issue 8: customer protection
    api.add_router("/collisions", collisions_router)  # issue 8: collision arbitration (撞单)
    api.add_router("/", scoring_router)  # issue 8: /scoring/rules, /leads/{id}/score, …/{id}/verify and …/quality
    api.add_router("/pools", pools_router)  # issue 8: public pools, claim, release, caps, recycle rules
    # issue 9 (orders): orders, hand-off, deliveries, installation, customer acceptance
    from salesflow.orders.api import router as orders_router

    api.add_router("/orders", orders_router)
    # issue 9 (contracts)
    from salesflow.contracts.api import router as contracts_router

    api.add_router("/contracts", contracts_router)
    from salesflow.quotes.api import router as quotes_router  # issue 9 (quotes)

    api.add_router("/quotes", quotes_router)  # issue 9 (quotes): quotes, versions, PDF, company profile


_register_routers()
# issue 9 (catalogue): products, price lists, groups, rules; /opportunities/{id}/lines
from salesflow.catalogue.api import deal_router as catalogue_deal_router  # noqa: E402
from salesflow.catalogue.api import router as catalogue_router  # noqa: E402

api.add_router("/catalogue", catalogue_router)
api.add_router("/opportunities", catalogue_deal_router)
# issue 9 (approvals): the approval engine (审批)
from salesflow.approvals.api import router as approvals_router  # noqa: E402

api.add_router("/approvals", approvals_router)


def _register_billing() -> None:  # issue 9 (billing): payment plans, payments, invoices, ageing
    from salesflow.billing.api import router as billing_router

    api.add_router("/billing", billing_router)


_register_billing()


def _register_issue10() -> None:  # issue 10: plans, attainment, scorecards, commissions, reports, dashboards
    from salesflow.analytics.api import router as analytics_router
    from salesflow.commissions.api import router as commissions_router
    from salesflow.dashboards.api import router as dashboards_router
    from salesflow.scorecards.api import router as scorecards_router
    from salesflow.targets.api import router as targets_router

    api.add_router("/reports", analytics_router)
    api.add_router("/plans", targets_router)
    api.add_router("/scorecards", scorecards_router)
    api.add_router("/commissions", commissions_router)
    api.add_router("/dashboards", dashboards_router)


_register_issue10()


def _register_issue11() -> None:  # issue 11: forecasting and process intelligence
    from salesflow.achievable.api import router as achievable_router
    from salesflow.forecasts.api import router as forecasts_router
    from salesflow.improvement.api import router as improvement_router
    from salesflow.process.api import router as process_router
    from salesflow.projections.api import router as projections_router
    from salesflow.winloss.api import router as winloss_router

    api.add_router("/process", process_router)
    api.add_router("/winloss", winloss_router)
    api.add_router("/revenue-forecast", projections_router)
    api.add_router("/likely-revenue", achievable_router)
    api.add_router("/forecasts", forecasts_router)
    api.add_router("/improvement", improvement_router)


_register_issue11()
