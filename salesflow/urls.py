"""URL map. Every page requires login (LoginRequiredMiddleware) unless marked public here
or with ``login_not_required``; the API authenticates with its own bearer tokens."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path
from django.views.i18n import JavaScriptCatalog, set_language

from salesflow.api import api
from salesflow.users.forms import ThrottledAdminAuthenticationForm

# The admin's sign-in is throttled like /login/.
admin.site.login_form = ThrottledAdminAuthenticationForm


def _api_urls() -> Any:
    patterns, app_name, namespace = api.urls

    def mark(items: list[URLPattern | URLResolver]) -> None:
        for item in items:
            if isinstance(item, URLResolver):
                mark(item.url_patterns)
            else:
                item.callback.login_required = False  # type: ignore[attr-defined]

    mark(patterns)
    return patterns, app_name, namespace


def _favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on their own (the static URL is resolved per request:
    the hashed name exists only once static files are collected)."""
    return HttpResponsePermanentRedirect(static("salesflow/favicon.svg"))


urlpatterns = [
    path("api/v1/", _api_urls()),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    # Browsers ask for /favicon.ico on their own (also on the sign-in page): send them the icon.
    path("favicon.ico", login_not_required(_favicon), name="favicon"),
    path("jsi18n/", login_not_required(JavaScriptCatalog.as_view()), name="javascript-catalog"),
    path("", include("salesflow.users.urls")),
    path("", include("salesflow.activities.urls_home")),
    path("activities/", include("salesflow.activities.urls")),
    path("accounts/", include("salesflow.parties.urls_accounts")),
    path("contacts/", include("salesflow.parties.urls_contacts")),
    path("leads/", include("salesflow.leads.urls")),
    path("opportunities/", include("salesflow.sales.urls")),
    path("notifications/", include("salesflow.notifications.urls")),
    path("attachments/", include("salesflow.attachments.urls")),
    path("search/", include("salesflow.search.urls")),
    path("tags/", include("salesflow.tags.urls")),
    path("exports/", include("salesflow.core.urls")),  # issue 6: list exports
    path("views/", include("salesflow.users.urls_views")),  # issue 6: saved views of lists
    path("settings/pipelines/", include("salesflow.sales.urls_settings")),  # issue 7: pipeline settings
    path("work-reports/", include("salesflow.workreports.urls")),  # issue 7: daily and weekly reports
    path("objections/", include("salesflow.objections.urls")),  # issue 7: the objection library
    path("duplicates/", include("salesflow.dedupe.urls")),  # issue 8 (match): the duplicate report
    path("duplicates/", include("salesflow.merging.urls")),  # issue 8: duplicate warning, access requests, merge
    path("imports/", include("salesflow.imports.urls")),  # issue 8: CSV/XLSX imports
    path("", include("salesflow.routing.urls")),  # issue 8: /f/<token>/, /settings/lead-forms/, /settings/assignment/
    path("collisions/", include("salesflow.protection.urls")),  # issue 8: collision arbitration (撞单)
    path("settings/known-customers/", include("salesflow.protection.urls_settings")),  # issue 8: 已成交客户名单
    path("", include("salesflow.scoring.urls")),  # issue 8: scoring, /data-quality/, /settings/scoring/
    path("", include("salesflow.pools.urls")),  # issue 8: public pools (/pools/, /settings/pools/)
    path("catalogue/", include("salesflow.catalogue.urls")),  # issue 9 (catalogue): products, price lists
    path("orders/", include("salesflow.orders.urls")),  # issue 9 (orders): orders, deliveries, acceptance
    path("", include("salesflow.approvals.urls")),  # issue 9 (approvals): /approvals/, /settings/approvals/
    path("billing/", include("salesflow.billing.urls")),  # issue 9 (billing): payments, invoices, ageing
    path("contracts/", include("salesflow.contracts.urls")),  # issue 9 (contracts)
    path("", include("salesflow.quotes.urls")),  # issue 9 (quotes): /quotes/, /q/<token>/, /settings/company/
    path("reports/", include("salesflow.analytics.urls")),  # issue 10: reports (报表) and the records behind a figure
    path("plans/", include("salesflow.targets.urls")),  # issue 10: sales plans, targets, attainment
    path("scorecards/", include("salesflow.scorecards.urls")),  # issue 10: scorecards, funnel math, appraisal
    path("commissions/", include("salesflow.commissions.urls")),  # issue 10: commission rules and statements
    path("dashboards/", include("salesflow.dashboards.urls")),  # issue 10: manager and rep dashboards
    path("process/", include("salesflow.process.urls")),  # issue 11: process analysis
    path("winloss/", include("salesflow.winloss.urls")),  # issue 11: win/loss drivers
    path("revenue-forecast/", include("salesflow.projections.urls")),  # issue 11: revenue forecast
    path("likely-revenue/", include("salesflow.achievable.urls")),  # issue 11: most likely revenue
    path("forecasts/", include("salesflow.forecasts.urls")),  # issue 11: forecast submissions
    path("improvement/", include("salesflow.improvement.urls")),  # issue 11: improvement projects
]
