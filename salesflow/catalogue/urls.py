from django.urls import path

from salesflow.catalogue import views

app_name = "catalogue"

urlpatterns = [
    path("", views.product_list_view, name="products"),
    path("products/new/", views.product_create_view, name="product_create"),
    path("products/<int:pk>/", views.product_detail_view, name="product_detail"),
    path("products/<int:pk>/edit/", views.product_edit_view, name="product_edit"),
    path("products/<int:pk>/active/", views.product_active_view, name="product_active"),
    path("product-lines/", views.category_list_view, name="categories"),
    path("product-lines/<int:pk>/", views.category_edit_view, name="category_edit"),
    path("customer-groups/", views.group_list_view, name="groups"),
    path("customer-groups/<int:pk>/", views.group_detail_view, name="group_detail"),
    path("customer-groups/<int:pk>/members/", views.group_members_view, name="group_members"),
    path("price-lists/", views.price_list_list_view, name="price_lists"),
    path("price-lists/<int:pk>/", views.price_list_detail_view, name="price_list_detail"),
    path(
        "price-lists/<int:pk>/delete/<str:what>/<int:obj_pk>/",
        views.price_list_delete_view,
        name="price_list_delete",
    ),
    path("discount-rules/", views.rule_list_view, name="rules"),
    path("discount-rules/<int:pk>/", views.rule_edit_view, name="rule_edit"),
    path("discount-rules/<int:pk>/delete/", views.rule_delete_view, name="rule_delete"),
    path("deal/<int:pk>/", views.deal_panel_view, name="deal_panel"),
    path("deal/<int:pk>/lines/<int:line_pk>/", views.deal_line_view, name="deal_line"),
    path("deal/<int:pk>/sync/", views.deal_sync_view, name="deal_sync"),
]
