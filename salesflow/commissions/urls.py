"""Pages of ``salesflow.commissions`` (namespace ``commissions``, under ``/commissions/``)."""

from django.urls import URLPattern, URLResolver, path

from salesflow.commissions import views

app_name = "commissions"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.statements_view, name="statements"),
    path("generate/", views.statement_generate_view, name="generate"),
    path("generate/progress/", views.compute_progress_view, name="progress"),
    path("statements/<int:pk>/", views.statement_view, name="statement"),
    path("statements/<int:pk>/export/", views.statement_export_view, name="statement_export"),
    path("statements/<int:pk>/<slug:action>/", views.statement_action_view, name="statement_action"),
    path("rules/", views.rules_view, name="rules"),
    path("rules/plans/new/", views.plan_form_view, name="plan_new"),
    path("rules/plans/<int:pk>/", views.plan_form_view, name="plan_edit"),
    path("rules/plans/<int:pk>/delete/", views.plan_delete_view, name="plan_delete"),
    path("rules/plans/<int:plan_pk>/rules/new/", views.rule_form_view, name="rule_new"),
    path("rules/<int:pk>/", views.rule_form_view, name="rule_edit"),
    path("rules/<int:pk>/delete/", views.rule_delete_view, name="rule_delete"),
]
