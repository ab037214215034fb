"""Pages of ``salesflow.commissions`` (namespace ``commissions``)."""

from django.urls import URLPattern, URLResolver

app_name = "commissions"

urlpatterns: list[URLPattern | URLResolver] = []
