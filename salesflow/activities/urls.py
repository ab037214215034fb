"""PLACEHOLDER: replace with real views."""

from django.http import HttpResponse
from django.urls import path

app_name = "activities"


def _todo(request, pk=None):
    return HttpResponse("todo")


urlpatterns = [
    path("", _todo, name="list"),
    path("create/", _todo, name="create"),
    path("panel/", _todo, name="panel"),
    path("<int:pk>/", _todo, name="detail"),
    path("<int:pk>/edit/", _todo, name="edit"),
    path("<int:pk>/delete/", _todo, name="delete"),
    path("<int:pk>/complete/", _todo, name="complete"),
]
