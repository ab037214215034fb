"""Pages of ``salesflow.achievable`` (namespace ``achievable``)."""

from django.urls import URLPattern, URLResolver

app_name = "achievable"

urlpatterns: list[URLPattern | URLResolver] = []
