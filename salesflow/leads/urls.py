"""Lead pages. The names are used across the project (``leads:detail`` …); keep them stable."""

from django.urls import path

from salesflow.leads import views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list_view, name="list"),
    path("create/", views.lead_create_view, name="create"),
    path("bulk/", views.lead_bulk_view, name="bulk"),
    path("<int:pk>/", views.lead_detail_view, name="detail"),
    path("<int:pk>/edit/", views.lead_edit_view, name="edit"),
    path("<int:pk>/delete/", views.lead_delete_view, name="delete"),
    path("<int:pk>/qualify/", views.lead_qualify_view, name="qualify"),
    path("<int:pk>/disqualify/", views.lead_disqualify_view, name="disqualify"),
    path("<int:pk>/reopen/", views.lead_reopen_view, name="reopen"),
    path("<int:pk>/hand-off/", views.lead_hand_off_view, name="hand_off"),
    path("<int:pk>/convert/", views.lead_convert_view, name="convert"),
    path("<int:pk>/convert/accounts/", views.lead_convert_accounts_view, name="convert_accounts"),
    path("for-account/<int:pk>/panel/", views.account_leads_panel_view, name="account_panel"),
]
