from django.urls import path

from salesflow.activities import views

app_name = "activities"

urlpatterns = [
    path("", views.activity_list_view, name="list"),
    path("create/", views.activity_create_view, name="create"),
    path("bulk/", views.activity_bulk_view, name="bulk"),
    path("panel/", views.activity_panel_view, name="panel"),
    path("link-search/", views.activity_link_search_view, name="link_search"),
    path("<int:pk>/", views.activity_detail_view, name="detail"),
    path("<int:pk>/edit/", views.activity_edit_view, name="edit"),
    path("<int:pk>/delete/", views.activity_delete_view, name="delete"),
    path("<int:pk>/complete/", views.activity_complete_view, name="complete"),
    path("<int:pk>/check-in/", views.activity_check_in_view, name="check_in"),  # issue 7
]
