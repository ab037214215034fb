"""The home page: My day."""

from django.urls import path

from salesflow.activities import views

urlpatterns = [path("", views.my_day_view, name="home")]
