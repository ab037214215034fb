"""Pages of ``salesflow.process`` (namespace ``process``)."""

from django.urls import URLPattern, URLResolver, path

from salesflow.process import views

app_name = "process"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.process_view, name="index"),
    path("control/", views.control_view, name="control"),
]
