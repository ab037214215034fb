from django.contrib.auth import views as auth_views
from django.urls import path

from salesflow.users import views
from salesflow.users.forms import ThrottledAuthenticationForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("settings/preferences/", views.preferences, name="preferences"),
    path("settings/tokens/", views.api_tokens, name="api_tokens"),
    path("settings/tokens/<int:pk>/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
    path("shares/<str:kind>/<int:pk>/", views.share_card_view, name="share_card"),
    path("shares/<str:kind>/<int:pk>/<int:share_id>/revoke/", views.share_revoke_view, name="share_revoke"),
]
