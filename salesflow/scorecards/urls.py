"""Pages of ``salesflow.scorecards`` (namespace ``scorecards``)."""

from django.urls import URLPattern, URLResolver, path

from salesflow.scorecards import views

app_name = "scorecards"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.team_view, name="team"),
    path("rep/<int:pk>/", views.rep_view, name="rep"),
    path("funnel/", views.funnel_view, name="funnel"),
    path("appraisals/", views.appraisals_view, name="appraisals"),
]
