from django.urls import path

from salesflow.contracts import views

app_name = "contracts"

urlpatterns = [
    path("", views.contract_list_view, name="list"),
    path("new/", views.contract_create_view, name="create"),
    path("<int:pk>/", views.contract_detail_view, name="detail"),
    path("<int:pk>/edit/", views.contract_edit_view, name="edit"),
    path("<int:pk>/submit/", views.contract_submit_view, name="submit"),
    path("<int:pk>/sign/", views.contract_sign_view, name="sign"),
    path("<int:pk>/renew/", views.contract_renew_view, name="renew"),
    path("<int:pk>/terminate/", views.contract_terminate_view, name="terminate"),
    path("<int:pk>/diff/", views.diff_view, name="diff"),
    path("<int:pk>/amend/", views.amendment_create_view, name="amend"),
    path("<int:pk>/versions/<int:version>/", views.version_view, name="version"),
    path("<int:pk>/versions/<int:version>/edit/", views.amendment_edit_view, name="amendment_edit"),
    path("<int:pk>/versions/<int:version>/submit/", views.amendment_submit_view, name="amendment_submit"),
    path("for-account/<int:pk>/panel/", views.account_panel_view, name="account_panel"),
    path("for-opportunity/<int:pk>/panel/", views.deal_panel_view, name="deal_panel"),
]
