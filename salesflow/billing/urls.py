"""Payment collection and invoices (namespace ``billing``), under ``/billing/``."""

from django.urls import path

from salesflow.billing import views

app_name = "billing"

urlpatterns = [
    path("payments/", views.payment_list_view, name="payments"),
    path("payments/new/", views.payment_new_view, name="payment_new"),
    path("payments/<int:pk>/", views.payment_detail_view, name="payment_detail"),
    path("payments/<int:pk>/allocate/", views.payment_allocate_view, name="payment_allocate"),
    path(
        "payments/<int:pk>/allocations/<int:instalment_id>/remove/",
        views.allocation_remove_view,
        name="allocation_remove",
    ),
    path("payments/<int:pk>/void/", views.payment_void_view, name="payment_void"),
    path("invoices/", views.invoice_list_view, name="invoices"),
    path("invoices/new/", views.invoice_new_view, name="invoice_new"),
    path("invoices/<int:pk>/", views.invoice_detail_view, name="invoice_detail"),
    path("invoices/<int:pk>/<str:action>/", views.invoice_action_view, name="invoice_action"),
    path("ageing/", views.ageing_view, name="ageing"),
    path("ageing/instalments/", views.ageing_instalments_view, name="ageing_instalments"),
    path("ageing/export/", views.ageing_export_view, name="ageing_export"),
    path("plans/<int:pk>/", views.plan_detail_view, name="plan_detail"),
    path("plans/<int:pk>/instalments/", views.instalment_add_view, name="instalment_add"),
    path("plans/new/<str:kind>/<int:pk>/", views.plan_create_view, name="plan_create"),
    path("instalments/<int:pk>/", views.instalment_redirect_view, name="instalment_redirect"),
    path("instalments/<int:pk>/void/", views.instalment_void_view, name="instalment_void"),
    path("panel/<str:kind>/<int:pk>/", views.document_panel_view, name="document_panel"),
    path("account/<int:pk>/panel/", views.account_panel_view, name="account_panel"),
    path("settings/reminders/", views.reminder_settings_view, name="reminder_settings"),
]
