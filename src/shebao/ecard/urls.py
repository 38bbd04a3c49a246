from django.urls import URLPattern, URLResolver

app_name = "ecard"

urlpatterns: list[URLPattern | URLResolver] = []
