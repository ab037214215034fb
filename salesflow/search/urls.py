"""The global search page. Names: ``search:results``."""

from django.urls import path

from salesflow.search import views

app_name = "search"

urlpatterns = [
    path("", views.search_view, name="results"),
]
