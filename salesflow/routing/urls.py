"""URLs of lead capture and assignment (namespace ``routing``, mounted at the root): the
public form ``/f/<token>/``, the settings pages and the lead page's panel."""

from django.urls import path

from salesflow.routing import views

app_name = "routing"

urlpatterns = [
    path("f/<str:token>/", views.public_form_view, name="public_form"),
    path("settings/lead-forms/", views.lead_forms_view, name="lead_forms"),
    path("settings/lead-forms/<int:pk>/", views.lead_form_view, name="lead_form"),
    path("settings/lead-forms/<int:pk>/delete/", views.lead_form_delete_view, name="lead_form_delete"),
    path("settings/assignment/", views.assignment_settings_view, name="assignment"),
    path("settings/assignment/rules/new/", views.rule_edit_view, name="rule_create"),
    path("settings/assignment/rules/<int:pk>/", views.rule_edit_view, name="rule_edit"),
    path("settings/assignment/rules/<int:pk>/move/", views.rule_move_view, name="rule_move"),
    path("settings/assignment/rules/<int:pk>/delete/", views.rule_delete_view, name="rule_delete"),
    path("settings/assignment/slas/", views.sla_add_view, name="sla_add"),
    path("settings/assignment/slas/<int:pk>/delete/", views.sla_delete_view, name="sla_delete"),
    path("settings/assignment/hours/", views.hours_add_view, name="hours_add"),
    path("settings/assignment/hours/<int:pk>/delete/", views.hours_delete_view, name="hours_delete"),
    path("routing/leads/<int:pk>/", views.lead_panel_view, name="lead_panel"),
]
