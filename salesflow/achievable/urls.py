"""Pages of ``salesflow.achievable`` (namespace ``achievable``)."""

from django.urls import URLPattern, URLResolver, path

from salesflow.achievable import views

app_name = "achievable"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.page_view, name="page"),
    path("status/", views.status_view, name="status"),
    path("recompute/", views.recompute_view, name="recompute"),
    path("export/<slug:chart>/", views.export_view, name="export"),
]
