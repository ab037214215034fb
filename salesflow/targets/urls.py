"""Pages of ``salesflow.targets`` (namespace ``targets``)."""

from django.urls import URLPattern, URLResolver

app_name = "targets"

urlpatterns: list[URLPattern | URLResolver] = []
