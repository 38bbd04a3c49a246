from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "shebao.partners"
    label = "partners"
    verbose_name = "合作机构与身份核验"

    def ready(self) -> None:
        from shebao.partners import jobs  # noqa: F401  (registers the job kinds)
