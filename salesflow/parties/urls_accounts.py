"""Account pages (客户)."""

from django.urls import path

from salesflow.parties import views

app_name = "accounts"

urlpatterns = [
    path("", views.account_list_view, name="list"),
    path("create/", views.account_create_view, name="create"),
    path("bulk/", views.account_bulk_view, name="bulk"),
    path("<int:pk>/", views.account_detail_view, name="detail"),
    path("<int:pk>/edit/", views.account_edit_view, name="edit"),
    path("<int:pk>/delete/", views.account_delete_view, name="delete"),
    path("<int:pk>/reassign-neglected/", views.account_reassign_neglected_view, name="reassign_neglected"),
]
