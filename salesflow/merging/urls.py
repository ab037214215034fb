from django.urls import path

from salesflow.merging import views

app_name = "merging"

urlpatterns = [
    path("of/<str:kind>/<int:pk>/", views.duplicates_of_view, name="check"),
    path("merge/<str:kind>/<int:pk_a>/<int:pk_b>/", views.merge_view, name="merge"),
    path("merges/<int:pk>/", views.merge_result_view, name="merge_result"),
    path("merges/<int:pk>/undo/", views.merge_undo_view, name="merge_undo"),
    path("access-requests/", views.access_requests_view, name="access_requests"),
    path("access-requests/new/", views.access_request_new_view, name="access_request_new"),
    path("access-requests/<int:pk>/decide/", views.access_request_decide_view, name="access_request_decide"),
]
