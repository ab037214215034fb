"""Pages of ``salesflow.winloss`` (namespace ``winloss``)."""

from django.urls import URLPattern, URLResolver, path

from salesflow.winloss import views

app_name = "winloss"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index_view, name="index"),
    path("panel/", views.panel_view, name="panel"),
    path("refresh/", views.refresh_view, name="refresh"),
]
