from django.urls import URLPattern

from shebao.payments.views import bank, office

app_name = "payments"

urlpatterns: list[URLPattern] = [*office.urlpatterns, *bank.urlpatterns]
