"""Pages of ``salesflow.winloss`` (namespace ``winloss``)."""

from django.urls import URLPattern, URLResolver

app_name = "winloss"

urlpatterns: list[URLPattern | URLResolver] = []
