from django.urls import URLPattern, URLResolver, path

from shebao.citizen import views

app_name = "citizen"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("cards/", views.cards, name="cards"),
    path("cards/loss/", views.loss_report, name="loss"),
    path("use/", views.card_use, name="card_use"),
    path("access/", views.access_log, name="access_log"),
    path("consents/", views.consents, name="consents"),
    path("consents/revoke/", views.consent_revoke_view, name="consent_revoke"),
]
