from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "shebao.ops"
    label = "ops"
    verbose_name = "运维"

    def ready(self) -> None:
        # Registers the key rotation's job kind with the jobs app.
        from shebao.ops import keys  # noqa: F401
