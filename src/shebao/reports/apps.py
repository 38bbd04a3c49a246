from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "shebao.reports"
    label = "reports"
    verbose_name = "进度通报"

    def ready(self) -> None:
        # Registers the reports' job kinds and schedules with the jobs app.
        from shebao.reports import jobs  # noqa: F401
