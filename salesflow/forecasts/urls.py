"""Pages of ``salesflow.forecasts`` (namespace ``forecasts``)."""

from django.urls import URLPattern, URLResolver, path

from salesflow.forecasts import views

app_name = "forecasts"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.mine_view, name="mine"),
    path("team/", views.rollup_view, name="team"),
    path("accuracy/", views.accuracy_view, name="accuracy"),
    path("changes/", views.changes_view, name="changes"),
]
