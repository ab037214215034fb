"""Order pages (namespace ``orders``), included at ``/orders/``."""

from django.urls import path

from salesflow.orders import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list_view, name="list"),
    path("new/", views.order_create_view, name="create"),
    path("<int:pk>/", views.order_detail_view, name="detail"),
    path("<int:pk>/confirm/", views.order_confirm_view, name="confirm"),
    path("<int:pk>/cancel/", views.order_cancel_view, name="cancel"),
    path("<int:pk>/hand-off/", views.order_hand_off_view, name="hand_off"),
    path("<int:pk>/lines/<int:line_pk>/", views.line_update_view, name="line_update"),
    path("<int:pk>/deliveries/new/", views.delivery_create_view, name="delivery_create"),
    path("<int:pk>/acceptance/", views.acceptance_view, name="acceptance"),
    path("deliveries/<int:pk>/void/", views.delivery_void_view, name="delivery_void"),
    path("deliveries/<int:pk>/installation/", views.installation_view, name="installation"),
    path("for-account/<int:pk>/panel/", views.account_panel_view, name="account_panel"),
]
