from django.urls import URLPattern

from shebao.cards.views import (
    cross_city,
    custody,
    home_service,
    instant,
    issuing,
    postal,
    reissue,
)

app_name = "cards"

urlpatterns: list[URLPattern] = [
    *issuing.urlpatterns,
    *custody.urlpatterns,
    *postal.urlpatterns,
    *reissue.urlpatterns,
    *instant.urlpatterns,
    *home_service.urlpatterns,
    *cross_city.urlpatterns,
]
