from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "shebao.intake"
    label = "intake"
