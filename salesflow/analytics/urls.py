"""Pages of ``salesflow.analytics`` (namespace ``analytics``): the reports (报表).

URL names: ``analytics:index`` (the list of reports), ``analytics:sales``,
``analytics:won_lost``, ``analytics:velocity``, ``analytics:activities`` (one per report,
without arguments, so saved views can reverse them) and ``analytics:export`` (name, fmt)."""

from django.urls import URLPattern, URLResolver, path

from salesflow.analytics import views
from salesflow.analytics.reports import REPORTS

app_name = "analytics"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index_view, name="index"),
    *[path(f"{name}/", views.report_view, {"name": name}, name=name) for name in REPORTS],
    path("<slug:name>/export.<str:fmt>", views.export_view, name="export"),
]
