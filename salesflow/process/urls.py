"""Pages of ``salesflow.process`` (namespace ``process``)."""

from django.urls import URLPattern, URLResolver

app_name = "process"

urlpatterns: list[URLPattern | URLResolver] = []
