"""Pages of ``salesflow.analytics`` (namespace ``analytics``)."""

from django.urls import URLPattern, URLResolver

app_name = "analytics"

urlpatterns: list[URLPattern | URLResolver] = []
