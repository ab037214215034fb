"""Pages of ``salesflow.improvement`` (namespace ``improvement``)."""

from django.urls import URLPattern, URLResolver, path

from salesflow.improvement import views

app_name = "improvement"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.list_view, name="list"),
    path("new/", views.create_view, name="create"),
    path("<int:pk>/", views.detail_view, name="detail"),
    path("<int:pk>/edit/", views.edit_view, name="edit"),
    path("<int:pk>/actions/", views.action_create_view, name="action_create"),
    path("<int:pk>/actions/<int:action_id>/done/", views.action_done_view, name="action_done"),
    path("<int:pk>/phase/", views.advance_view, name="advance"),
    path("<int:pk>/baseline/", views.measure_view, name="measure"),
]
