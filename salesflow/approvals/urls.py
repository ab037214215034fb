"""Approval pages (namespace ``approvals``): ``/approvals/…`` and ``/settings/approvals/``."""

from django.urls import path

from salesflow.approvals import views

app_name = "approvals"

urlpatterns = [
    path("approvals/", views.inbox_view, name="inbox"),
    path("approvals/<int:pk>/", views.detail_view, name="detail"),
    path("approvals/<int:pk>/<str:action>/", views.act_view, name="act"),
    path("approvals/documents/<str:kind>/<int:pk>/panel/", views.document_panel_view, name="document_panel"),
    path("approvals/deals/<int:pk>/panel/", views.deal_panel_view, name="deal_panel"),
    path("approvals/deals/<int:pk>/request/", views.deal_request_view, name="deal_request"),
    path("approvals/delegations/", views.delegations_view, name="delegations"),
    path("approvals/delegations/<int:pk>/delete/", views.delegation_delete_view, name="delegation_delete"),
    path("settings/approvals/", views.rules_view, name="rules"),
    path("settings/approvals/<int:pk>/", views.rule_edit_view, name="rule_edit"),
    path("settings/approvals/<int:pk>/delete/", views.rule_delete_view, name="rule_delete"),
]
