from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "shebao.reports"
    label = "reports"

    def ready(self) -> None:
        # Registers the reports' job kinds and schedules with the jobs app.
        from shebao.reports import jobs  # noqa: F401
