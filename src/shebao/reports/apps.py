from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "shebao.reports"
    label = "reports"
