from django.urls import path

from salesflow.core import views

app_name = "exports"

urlpatterns = [
    path("", views.export_start_view, name="start"),
    path("count/", views.list_count_view, name="count"),
    path("<int:pk>/", views.export_detail_view, name="detail"),
    path("<int:pk>/download/", views.export_download_view, name="download"),
]
