"""Pages of ``salesflow.projections`` (namespace ``projections``)."""

from django.urls import URLPattern, URLResolver

app_name = "projections"

urlpatterns: list[URLPattern | URLResolver] = []
