"""URLs of quotes (namespace ``quotes``, mounted at the root)."""

from django.urls import path

from salesflow.quotes import views

app_name = "quotes"

urlpatterns = [
    path("quotes/", views.quote_list_view, name="list"),
    path("quotes/new/", views.quote_create_view, name="create"),
    path("quotes/<int:pk>/", views.quote_detail_view, name="detail"),
    path("quotes/<int:pk>/edit/", views.quote_edit_view, name="edit"),
    path("quotes/<int:pk>/issue/", views.quote_issue_view, name="issue"),
    path("quotes/<int:pk>/revise/", views.quote_revise_view, name="revise"),
    path("quotes/<int:pk>/send/", views.quote_send_view, name="send"),
    path("quotes/<int:pk>/pdf/", views.quote_pdf_view, name="pdf"),
    path("quotes/deal/<int:pk>/panel/", views.deal_panel_view, name="deal_panel"),
    path("settings/company/", views.company_profile_view, name="company_profile"),
    path("q/<str:token>/", views.public_view, name="public"),
]
