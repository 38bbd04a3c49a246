from django.urls import URLPattern, URLResolver, path

from shebao.usage import views

app_name = "usage"

urlpatterns: list[URLPattern | URLResolver] = [
    path("records/", views.records_view, name="records"),
    path("upload/", views.upload_view, name="upload"),
    path("metrics/", views.metrics_view, name="metrics"),
]
