from django.urls import URLPattern, URLResolver, path

from shebao.ecard import views

app_name = "ecard"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.mine, name="mine"),
    path("qr/", views.next_code, name="next_code"),
    path("apply/", views.apply, name="apply"),
    path("keys.json", views.keys_json, name="keys"),
]
