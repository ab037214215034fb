from django.urls import path

from salesflow.workreports import views

app_name = "workreports"

urlpatterns = [
    path("", views.my_reports_view, name="mine"),
    path("open/", views.report_open_view, name="open"),
    path("team/", views.team_view, name="team"),
    path("<int:pk>/", views.report_detail_view, name="detail"),
    path("<int:pk>/comment/", views.report_comment_view, name="comment"),
]
