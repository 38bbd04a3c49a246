from django.urls import URLPattern, URLResolver, path

from shebao.sso import views

app_name = "sso"

urlpatterns: list[URLPattern | URLResolver] = [
    path("login/", views.login_view, name="login"),
    path("login/qr/status/", views.qr_status_view, name="qr_status"),
    path("login/qr/complete/", views.qr_complete_view, name="qr_complete"),
    path("qr/<str:token>/", views.qr_confirm_view, name="qr_confirm"),
]
