from django.urls import path

from salesflow.objections import views

app_name = "objections"

urlpatterns = [
    path("", views.library_view, name="library"),
    path("new/", views.objection_create_view, name="create"),
    path("<int:pk>/", views.objection_detail_view, name="detail"),
    path("<int:pk>/edit/", views.objection_edit_view, name="edit"),
    path("<int:pk>/answers/", views.answer_create_view, name="answer_create"),
    path("answers/<int:pk>/edit/", views.answer_edit_view, name="answer_edit"),
    path("answers/<int:pk>/approve/", views.answer_approve_view, name="answer_approve"),
    path("deal/<int:pk>/", views.deal_panel_view, name="deal_panel"),
    path("deal/<int:pk>/<int:log_pk>/delete/", views.deal_log_delete_view, name="deal_log_delete"),
]
