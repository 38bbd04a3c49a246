from django.urls import path

from shebao.reports import views

app_name = "reports"

urlpatterns = [
    path("bulletin/", views.bulletin_view, name="bulletin"),
    path("bulletin/produce/", views.bulletin_produce_view, name="bulletin_produce"),
    path("bulletin/<int:pk>/download/", views.bulletin_stored_view, name="bulletin_stored"),
    path("bulletin/<int:pk>/correct/", views.bulletin_correct_view, name="bulletin_correct"),
    path("dashboard/", views.dashboard_view, name="dashboard"),
    path("dashboard/data.json", views.dashboard_data_view, name="dashboard_data"),
    path("dashboard/export.xlsx", views.dashboard_export_view, name="dashboard_export"),
    path("targets/", views.targets_view, name="targets"),
    path("work-plan/", views.work_plan_view, name="work_plan"),
    path("work-plan/import/", views.work_plan_import_view, name="work_plan_import"),
    path("work-plan/<int:pk>/export.xlsx", views.work_plan_export_view, name="work_plan_export"),
    path(
        "work-plan/items/<int:pk>/status/",
        views.work_plan_item_status_view,
        name="work_plan_item_status",
    ),
]
