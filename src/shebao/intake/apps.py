from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "shebao.intake"
    label = "intake"
    verbose_name = "数据汇集"

    def ready(self) -> None:
        # Registers the import job kind with the jobs app.
        from shebao.intake import services  # noqa: F401
