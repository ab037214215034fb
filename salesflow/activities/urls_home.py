"""PLACEHOLDER: My day."""

from django.http import HttpResponse
from django.urls import path


def _todo(request):
    return HttpResponse("todo")


urlpatterns = [path("", _todo, name="home")]
