"""Sales settings pages mounted at ``/settings/`` (namespace ``sales``): a stage's entry
criteria (stage gates), for administrators. The pipeline settings pages embed
``sales:stage_criteria`` as an htmx fragment."""

from django.urls import path

from salesflow.sales import views_gates

app_name = "sales"

urlpatterns = [
    path("stages/<int:pk>/criteria/", views_gates.stage_criteria_view, name="stage_criteria"),
    path("criteria/<int:pk>/", views_gates.stage_criterion_edit_view, name="stage_criterion_edit"),
    path("criteria/<int:pk>/delete/", views_gates.stage_criterion_delete_view, name="stage_criterion_delete"),
]
