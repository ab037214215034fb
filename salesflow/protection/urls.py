from django.urls import path

from salesflow.protection import views

app_name = "protection"

urlpatterns = [
    path("", views.queue_view, name="queue"),
    path("<int:pk>/", views.collision_view, name="collision"),
    path("<int:pk>/decide/", views.decide_view, name="decide"),
]
