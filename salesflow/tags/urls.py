from django.urls import path

from salesflow.tags import views

app_name = "tags"

urlpatterns = [
    path("", views.tag_settings_view, name="settings"),
    path("<int:pk>/edit/", views.tag_edit_view, name="edit"),
    path("<int:pk>/delete/", views.tag_delete_view, name="delete"),
    path("record/<str:kind>/<int:pk>/", views.tag_card_view, name="card"),
    path("record/<str:kind>/<int:pk>/<int:tag_id>/remove/", views.tag_remove_view, name="remove"),
]
