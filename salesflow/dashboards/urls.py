"""Pages of ``salesflow.dashboards`` (namespace ``dashboards``)."""

from django.urls import URLPattern, URLResolver, path

from salesflow.dashboards import views

app_name = "dashboards"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.dashboard_view, name="index"),
    path("rep/<int:user_id>/", views.rep_dashboard_view, name="rep"),
    path("chart/<slug:chart>/", views.chart_view, name="chart"),
    path("chart/<slug:chart>/export", views.chart_export_view, name="export"),
    path("records/", views.records_view, name="records"),
    path("refresh/", views.refresh_view, name="refresh"),
]
