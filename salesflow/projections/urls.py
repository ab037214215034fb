"""Pages of ``salesflow.projections`` (namespace ``projections``)."""

from django.urls import URLPattern, URLResolver, path

from salesflow.projections import views

app_name = "projections"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.forecast_view, name="index"),
    path("recompute/", views.recompute_view, name="recompute"),
]
