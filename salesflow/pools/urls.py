"""Public pools (namespace ``pools``): ``/pools/…`` and the settings at ``/settings/pools/``."""

from django.urls import path

from salesflow.pools import views

app_name = "pools"

urlpatterns = [
    path("pools/", views.pool_list_view, name="list"),
    path("pools/<int:pk>/", views.pool_detail_view, name="detail"),
    path("pools/claim/<str:kind>/<int:pk>/", views.claim_view, name="claim"),
    path("pools/panel/<str:kind>/<int:pk>/", views.record_panel_view, name="record_panel"),
    path("pools/release/<str:kind>/<int:pk>/", views.release_view, name="release"),
    path("settings/pools/", views.settings_view, name="settings"),
    path("settings/pools/<int:pk>/", views.pool_edit_view, name="pool_edit"),
    path("settings/pools/caps/<int:pk>/", views.cap_edit_view, name="cap_edit"),
    path("settings/pools/rules/<int:pk>/", views.rule_edit_view, name="rule_edit"),
    path("settings/pools/<str:what>/<int:pk>/delete/", views.settings_delete_view, name="settings_delete"),
]
