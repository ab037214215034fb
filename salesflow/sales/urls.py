"""Opportunity pages (namespace ``opportunities``)."""

from django.urls import path

from salesflow.sales import views, views_gates

app_name = "opportunities"

urlpatterns = [
    path("", views.opportunity_list_view, name="list"),
    path("board/", views.board_view, name="board"),
    path("stuck/", views.stuck_view, name="stuck"),  # issue 7: where is each rep stuck
    path("bulk/", views.opportunity_bulk_view, name="bulk"),
    path("create/", views.opportunity_create_view, name="create"),
    path("contact-roles/", views.contact_roles_view, name="contact_roles"),
    path("stage-options/", views.stage_options_view, name="stage_options"),
    path("<int:pk>/", views.opportunity_detail_view, name="detail"),
    path("<int:pk>/edit/", views.opportunity_edit_view, name="edit"),
    path("<int:pk>/delete/", views.opportunity_delete_view, name="delete"),
    path("<int:pk>/move/", views.opportunity_move_view, name="move"),
    path("<int:pk>/close/", views.opportunity_close_view, name="close"),
    path("<int:pk>/reopen/", views.opportunity_reopen_view, name="reopen"),
    path("<int:pk>/change-pipeline/", views.opportunity_change_pipeline_view, name="change_pipeline"),
    path("for-account/<int:pk>/panel/", views.account_opportunities_panel_view, name="account_panel"),
    # stage gates: the deal's checklist panel and ticking its items
    path("<int:pk>/checklist/", views_gates.opportunity_checklist_view, name="checklist"),
    path("<int:pk>/checklist/<int:criterion_id>/", views_gates.opportunity_checklist_tick_view, name="checklist_tick"),
]
