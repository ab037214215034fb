"""Settings → Pipelines (namespace ``sales``, mounted at ``/settings/pipelines/``):
administrators create, copy and edit pipelines, their stages and the teams that use them,
a stage's entry criteria (stage gates: ``sales:stage_criteria``, a page and the htmx
fragment the stage edit page embeds) and the stall escalation ladder (``sales:stall_ladder``)."""

from django.urls import path

from salesflow.sales import views, views_gates, views_stall

app_name = "sales"

urlpatterns = [
    path("", views.pipeline_settings_view, name="pipeline_settings"),
    path("<int:pk>/", views.pipeline_edit_view, name="pipeline_edit"),
    path("<int:pk>/teams/", views.pipeline_teams_view, name="pipeline_teams"),
    path("<int:pk>/copy/", views.pipeline_copy_view, name="pipeline_copy"),
    path("<int:pk>/stages/add/", views.stage_add_view, name="stage_add"),
    path("<int:pk>/stages/reorder/", views.stage_reorder_view, name="stage_reorder"),
    path("stages/<int:pk>/", views.stage_edit_view, name="stage_edit"),
    path("stages/<int:pk>/move/", views.stage_move_view, name="stage_move"),
    path("stages/<int:pk>/deactivate/", views.stage_deactivate_view, name="stage_deactivate"),
    path("stages/<int:pk>/activate/", views.stage_activate_view, name="stage_activate"),
    path("stages/<int:pk>/delete/", views.stage_delete_view, name="stage_delete"),
    path("stages/<int:pk>/criteria/", views_gates.stage_criteria_view, name="stage_criteria"),
    path("criteria/<int:pk>/", views_gates.stage_criterion_edit_view, name="stage_criterion_edit"),
    path("criteria/<int:pk>/delete/", views_gates.stage_criterion_delete_view, name="stage_criterion_delete"),
    path("stall-ladder/", views_stall.stall_ladder_view, name="stall_ladder"),
    path("stall-ladder/<int:pk>/", views_stall.stall_step_edit_view, name="stall_step_edit"),
    path("stall-ladder/<int:pk>/delete/", views_stall.stall_step_delete_view, name="stall_step_delete"),
]
