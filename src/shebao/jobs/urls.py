from django.urls import path

from shebao.jobs import views

urlpatterns = [
    path("jobs/<int:pk>/progress.json", views.job_progress_view, name="job_progress"),
    path("jobs/<int:pk>/progress/", views.job_progress_fragment_view, name="job_progress_fragment"),
]
