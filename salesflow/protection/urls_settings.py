from django.urls import path

from salesflow.protection import views

app_name = "known_customers"

urlpatterns = [
    path("", views.known_customers_view, name="list"),
    path("loads/<int:pk>/", views.load_view, name="load"),
]
