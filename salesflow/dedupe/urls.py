from django.urls import path

from salesflow.dedupe import views

app_name = "dedupe"

urlpatterns = [
    path("report/", views.report_view, name="report"),
    path("report/start/", views.report_start_view, name="report_start"),
    path("report/pairs/<int:pk>/dismiss/", views.pair_dismiss_view, name="pair_dismiss"),
]
