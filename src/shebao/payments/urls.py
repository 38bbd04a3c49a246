from django.urls import URLPattern

from shebao.jobs import urls as jobs_urls
from shebao.payments.views import bank, deductions, jobs, office, queues

app_name = "payments"

urlpatterns: list[URLPattern] = [
    *office.urlpatterns,
    *queues.urlpatterns,
    *bank.urlpatterns,
    *deductions.urlpatterns,
    *jobs.urlpatterns,
    # The jobs app's progress endpoints, polled by the job page (as registration does).
    *jobs_urls.urlpatterns,
]
