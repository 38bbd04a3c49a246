from django.apps import AppConfig


class EcardConfig(AppConfig):
    name = "shebao.ecard"
    label = "ecard"
    verbose_name = "电子社保卡"
