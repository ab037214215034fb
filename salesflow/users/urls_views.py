"""Saved views of lists (issue 6), included under ``views/``."""

from django.urls import path

from salesflow.users import views

app_name = "saved_views"

urlpatterns = [
    path("picker/", views.saved_view_picker, name="picker"),
    path("", views.saved_view_create_view, name="create"),
    path("<int:pk>/rename/", views.saved_view_rename_view, name="rename"),
    path("<int:pk>/delete/", views.saved_view_delete_view, name="delete"),
]
