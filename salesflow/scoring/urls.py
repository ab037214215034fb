"""Scoring and data-quality pages (included at the site root: they live under several prefixes)."""

from django.urls import path

from salesflow.scoring import views

app_name = "scoring"

urlpatterns = [
    path("scoring/lead/<int:pk>/panel/", views.lead_panel_view, name="lead_panel"),
    path("scoring/quality/<str:kind>/<int:pk>/", views.quality_card_view, name="quality_card"),
    path("scoring/verify/<str:kind>/<int:pk>/", views.verify_view, name="verify"),
    path("data-quality/", views.quality_page_view, name="quality"),
    path("data-quality/<str:kind>/", views.quality_list_view, name="quality_list"),
    path("settings/scoring/", views.settings_view, name="settings"),
    path("settings/scoring/<int:pk>/", views.rule_edit_view, name="rule_edit"),
    path("settings/scoring/progress/", views.run_progress_view, name="progress"),
]
