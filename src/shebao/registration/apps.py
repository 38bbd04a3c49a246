from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "shebao.registration"
    label = "registration"
    verbose_name = "全民参保登记"

    def ready(self) -> None:
        # Registers the comparison job kind with the jobs app.
        from shebao.registration import runs  # noqa: F401
