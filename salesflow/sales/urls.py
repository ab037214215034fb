"""PLACEHOLDER: replace with real views."""

from django.http import HttpResponse
from django.urls import path

app_name = "opportunities"


def _todo(request, pk=None):
    return HttpResponse("todo")


urlpatterns = [
    path("", _todo, name="list"),
    path("board/", _todo, name="board"),
    path("create/", _todo, name="create"),
    path("<int:pk>/", _todo, name="detail"),
    path("<int:pk>/edit/", _todo, name="edit"),
    path("<int:pk>/delete/", _todo, name="delete"),
    path("<int:pk>/move/", _todo, name="move"),
    path("<int:pk>/close/", _todo, name="close"),
]
