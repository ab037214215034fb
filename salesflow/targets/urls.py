"""Pages of ``salesflow.targets`` (namespace ``targets``)."""

from django.urls import URLPattern, URLResolver, path

from salesflow.targets import views

app_name = "targets"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.plan_list_view, name="list"),
    path("new/", views.plan_create_view, name="create"),
    path("attainment/", views.attainment_view, name="attainment"),
    path("leaderboard/", views.leaderboard_view, name="leaderboard"),
    path("<int:year>/", views.plan_view, name="plan"),
    path("<int:year>/<slug:action>/", views.plan_action_view, name="action"),
]
