from django.urls import URLPattern

from shebao.payments.views import bank, deductions, office, queues

app_name = "payments"

urlpatterns: list[URLPattern] = [
    *office.urlpatterns,
    *queues.urlpatterns,
    *bank.urlpatterns,
    *deductions.urlpatterns,
]
