from django.urls import URLPattern

from shebao.cards.views import custody, issuing, postal

app_name = "cards"

urlpatterns: list[URLPattern] = [*issuing.urlpatterns, *custody.urlpatterns, *postal.urlpatterns]
