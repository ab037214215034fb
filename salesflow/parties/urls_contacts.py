"""Contact pages (联系人)."""

from django.urls import path

from salesflow.parties import views

app_name = "contacts"

urlpatterns = [
    path("", views.contact_list_view, name="list"),
    path("create/", views.contact_create_view, name="create"),
    path("bulk/", views.contact_bulk_view, name="bulk"),
    path("<int:pk>/", views.contact_detail_view, name="detail"),
    path("<int:pk>/edit/", views.contact_edit_view, name="edit"),
    path("<int:pk>/delete/", views.contact_delete_view, name="delete"),
]
