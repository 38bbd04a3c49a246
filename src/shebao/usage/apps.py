from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "shebao.usage"
    label = "usage"
    verbose_name = "用卡"
