"""The home page (My day) and, issue 7, the follow-up settings, the calendar feed and its page."""

from django.urls import path

from salesflow.activities import views

urlpatterns = [
    path("", views.my_day_view, name="home"),
    path("settings/follow-up/", views.follow_up_settings_view, name="follow_up_settings"),
    path("settings/calendar/", views.calendar_settings_view, name="calendar_settings"),
    path("calendar/<str:token>.ics", views.calendar_feed_view, name="calendar_feed"),
]
