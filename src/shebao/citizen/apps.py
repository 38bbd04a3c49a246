from django.apps import AppConfig


class CitizenConfig(AppConfig):
    name = "shebao.citizen"
    label = "citizen"
    verbose_name = "群众服务"
