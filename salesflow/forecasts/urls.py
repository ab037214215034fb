"""Pages of ``salesflow.forecasts`` (namespace ``forecasts``)."""

from django.urls import URLPattern, URLResolver

app_name = "forecasts"

urlpatterns: list[URLPattern | URLResolver] = []
