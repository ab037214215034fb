"""Pages of ``salesflow.scorecards`` (namespace ``scorecards``)."""

from django.urls import URLPattern, URLResolver

app_name = "scorecards"

urlpatterns: list[URLPattern | URLResolver] = []
