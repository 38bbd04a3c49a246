from django.urls import URLPattern, path

from shebao.jobs import urls as jobs_urls
from shebao.registration import views

app_name = "registration"

urlpatterns: list[URLPattern] = [
    path("imports/", views.imports_view, name="imports"),
    path("imports/<int:pk>/", views.import_detail_view, name="import_detail"),
    path("imports/<int:pk>/current/", views.import_make_current_view, name="import_current"),
    path("imports/<int:pk>/rejected.<str:fmt>", views.import_rejected_view, name="import_rejected"),
    path("runs/", views.runs_view, name="runs"),
    path("runs/<int:pk>/", views.run_detail_view, name="run_detail"),
    path("findings/", views.findings_view, name="findings"),
    path("findings/export.xlsx", views.findings_export_view, name="findings_export"),
    path("findings/assign/", views.findings_assign_view, name="findings_assign"),
    path("findings/<int:pk>/", views.finding_detail_view, name="finding_detail"),
    path("findings/<int:pk>/assign/", views.finding_assign_view, name="finding_assign"),
    path("findings/<int:pk>/resolve/", views.finding_resolve_view, name="finding_resolve"),
    path("survey/", views.survey_view, name="survey"),
    path("survey/villages/<str:code>/", views.roster_view, name="roster"),
    path("survey/villages/<str:code>/roster.xlsx", views.roster_xlsx_view, name="roster_xlsx"),
    path("survey/persons/<int:person_id>/", views.survey_person_view, name="survey_person"),
    path("coverage/", views.coverage_view, name="coverage"),
    path("coverage/data.json", views.coverage_data_view, name="coverage_data"),
    path("coverage/export.xlsx", views.coverage_export_view, name="coverage_export"),
    *jobs_urls.urlpatterns,
]
