from django.urls import path

from salesflow.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.job_list_view, name="list"),
    path("new/", views.upload_view, name="upload"),
    path("samples/<str:name>", views.sample_view, name="sample"),
    path("templates/<int:pk>/delete/", views.template_delete_view, name="template_delete"),
    path("<int:pk>/", views.job_detail_view, name="detail"),
    path("<int:pk>/mapping/", views.mapping_view, name="mapping"),
    path("<int:pk>/run/", views.run_view, name="run"),
    path("<int:pk>/cancel/", views.cancel_view, name="cancel"),
    path("<int:pk>/resume/", views.resume_view, name="resume"),
    path("<int:pk>/rollback/", views.rollback_view, name="rollback"),
    path("<int:pk>/errors.xlsx", views.error_report_view, name="errors"),
]
