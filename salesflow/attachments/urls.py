from django.urls import path

from salesflow.attachments import views

app_name = "attachments"

urlpatterns = [
    path("panel/<str:kind>/<int:pk>/", views.attachment_panel_view, name="panel"),
    path("upload/<str:kind>/<int:pk>/", views.attachment_upload_view, name="upload"),
    path("<int:pk>/download/", views.attachment_download_view, name="download"),
    path("<int:pk>/thumbnail/", views.attachment_thumbnail_view, name="thumbnail"),
    path("<int:pk>/delete/", views.attachment_delete_view, name="delete"),
]
