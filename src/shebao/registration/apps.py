from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "shebao.registration"
    label = "registration"
